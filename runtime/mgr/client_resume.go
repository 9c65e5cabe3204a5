package mgr

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
)

// Resuming a session over a new connection (the client's side; the manager's is
// resume.go, the protocol internal/wire/messages.go).
//
// When the connection breaks — a read or write fails, or the manager says nothing for a
// lease — and the client did not close it, the client redials with backoff for up to
// Options.ResumeWindow and sends Resume. Meanwhile the reconnecting goroutine holds the
// reading role, so callers simply wait for their replies (or their ctx); calls sent into
// the dead connection stay pending. Once resumed, the client sends again the calls the
// manager says it never read, its Cancel frames, and its answers to reserved outcomes;
// the manager sends again every frame the client missed. A call therefore completes
// exactly once, and a break shorter than the window is invisible to callers.

// link is one connection of the client's session.
type link struct {
	conn net.Conn
	r    *wire.Reader
	w    *wire.Writer
}

// ackEvery is how many frames the client receives before it acknowledges them (besides
// once per idle tick): the manager keeps what is unacknowledged for a resume.
const ackEvery = 64

// ackBytes is how many bytes of frames the client receives before it acknowledges them,
// however few frames they are. Counting frames alone, a client receiving large ones
// (a pool worker's tasks, a Map's results: 40-60 KB each) acknowledged every few
// megabytes, and the manager's replay log grew to hold them: fresh memory, page faults
// and copies as it grew, most of the manager's cost in the first Maps of a pool.
const ackBytes = 256 << 10

// maxRejectedKept bounds the Reject answers the client remembers for a resume.
const maxRejectedKept = 4096

// ErrManagerRestarted: the manager the client was connected to is gone and another run of
// it answers at the address: the objects of the old session and their IDs are gone, so a
// proxy made before the restart fails with this at once rather than name another object.
// The Client goes on with a new session: look named objects up again.
var ErrManagerRestarted = errors.New("mgr: manager restarted")

func init() { RegisterError("mgr.ErrManagerRestarted", ErrManagerRestarted) }

// ConnState is the state of a Client's connection (Client.State, Options.OnState).
type ConnState int32

// The states of a Client's connection.
const (
	StateConnected    ConnState = iota // connected, the session up
	StateDisconnected                  // the connection broke; redialling to resume the session
	StateResumed                       // the session was resumed on a new connection (then Connected)
	StateRestarted                     // the manager restarted: a new session; earlier proxies are stale
	StateClosed                        // the session ended: Close, ErrShutdown, or ErrConnLost (Err says)
)

func (s ConnState) String() string {
	switch s {
	case StateConnected:
		return "connected"
	case StateDisconnected:
		return "disconnected"
	case StateResumed:
		return "resumed"
	case StateRestarted:
		return "restarted"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("ConnState(%d)", int32(s))
}

// State returns the state of the client's connection now.
func (c *Client) State() ConnState {
	s := ConnState(c.state.Load())
	if s == StateResumed || s == StateRestarted {
		return StateConnected
	}
	return s
}

func (c *Client) setState(s ConnState, err error) {
	old := ConnState(c.state.Swap(int32(s)))
	if old == StateClosed {
		c.state.Store(int32(StateClosed))
		return
	}
	if c.opts.OnState != nil && (old != s || s == StateResumed) {
		c.opts.OnState(s, err)
	}
}

// sendAck acknowledges the frames received, every ackEvery of them or ackBytes of their
// bytes, or (idle) whenever some are unacknowledged. It is buffered: the next write, or
// the idle tick, flushes it.
func (c *Client) sendAck(idle bool) {
	n := c.recv.Load()
	a := c.acked.Load()
	if n == a || (!idle && n-a < ackEvery && c.unacked.Load() < ackBytes) || !c.acked.CompareAndSwap(a, n) {
		return
	}
	c.unacked.Store(0)
	var b [wire.MaxUintFrame]byte
	f := wire.AppendUintFrame(b[:0], wire.KindAck, n)
	w := c.link.Load().w
	if idle {
		_ = w.WriteFrame(f)
	} else {
		_ = w.WriteFrameBuffered(f)
	}
}

// broken handles the loss of connection l: the client resumes its session on a new
// connection, or — resuming disabled, or the session not established yet — fails with
// err. A loss of a connection that is no longer the client's is old news.
func (c *Client) broken(l *link, err error) {
	window := c.opts.resumeWindow()
	c.mu.Lock()
	if c.err != nil || c.resuming || c.link.Load() != l {
		c.mu.Unlock()
		return
	}
	if why := c.endErr(err); why != nil {
		// The manager shuts down or has exited: its connection's end is the end, not a
		// break to resume from.
		c.mu.Unlock()
		c.fail(why)
		return
	}
	if window <= 0 || c.sessionID.Load() == 0 {
		c.mu.Unlock()
		c.fail(err)
		return
	}
	c.resuming = true
	c.mu.Unlock()
	l.conn.Close()
	c.setState(StateDisconnected, err)
	go c.reconnect(window, err)
}

// endErr is the error the client ends with at its connection's end after readToEnd
// (err: how the connection ended), or nil before readToEnd.
func (c *Client) endErr(err error) error {
	end := c.ending.Load()
	if end == nil {
		return nil
	}
	if end.err != nil {
		return end.err
	}
	return fmt.Errorf("%w (%s): the connection ended after Shutdown was accepted: %w", ErrShutdown, c.addr, err)
}

// reconnect redials until the session is resumed, the manager turns out to have
// restarted, or the window passes.
func (c *Client) reconnect(window time.Duration, why error) {
	ctx, cancel := context.WithTimeout(context.Background(), window)
	defer cancel()
	go func() { // ctx also ends with the client
		select {
		case <-c.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	// The reading role: nobody reads the dead connection meanwhile, and callers wait.
	select {
	case c.readTok <- struct{}{}:
	case <-ctx.Done():
		c.fail(fmt.Errorf("%w: %v (and the reading role was not free to resume)", ErrConnLost, why))
		return
	}
	backoff := 10 * time.Millisecond
	for {
		if end := c.endErr(why); end != nil {
			// readToEnd came during the resume: the manager shuts down or has exited, and
			// would refuse it (ResumeShutdown) or cannot answer — end now rather than redial
			// for the rest of the window (Manager.Shutdown waits for the client's end).
			c.fail(end)
			c.releaseRead()
			return
		}
		status, err := c.tryResume(ctx)
		switch {
		case err == nil && status == wire.ResumeOK:
			c.setState(StateResumed, nil)
			c.setState(StateConnected, nil)
			return // tryResume handed the reading role back
		case err == nil && (status == wire.ResumeRestarted || status == wire.ResumeAdopted):
			c.restarted() // adopted: on the link tryResume kept (client_failover.go)
			return
		case err == nil && status == wire.ResumeShutdown:
			c.releaseRead()
			c.fail(fmt.Errorf("%w (%s): %v, and the manager is shutting down", ErrShutdown, c.addr, why))
			return
		case err == nil:
			c.releaseRead()
			c.fail(fmt.Errorf("%w: %v; the manager refused to resume the session", ErrConnLost, why))
			return
		}
		if ctx.Err() != nil {
			c.releaseRead()
			c.fail(fmt.Errorf("%w: %v; could not resume the session within %s: %v", ErrConnLost, why, window, err))
			return
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		backoff = min(2*backoff, time.Second)
	}
}

// redial connects to the manager again and authenticates: a new link, not yet in use.
func (c *Client) redial(ctx context.Context) (*link, error) {
	conn, err := c.dialFailover(ctx) // client_failover.go
	if err != nil {
		return nil, err
	}
	l, err := c.handshake(ctx, conn)
	if err != nil {
		conn.Close()
		c.failoverNext() // the next attempt tries another manager, if there are others
		return nil, err
	}
	return l, nil
}

// tryResume dials once and asks to resume. On ResumeOK it installs the new link, sends
// again what the manager missed and gives up the reading role; otherwise it keeps it.
func (c *Client) tryResume(ctx context.Context) (status byte, err error) {
	l, err := c.redial(ctx)
	if err != nil {
		return 0, err
	}
	conn := l.conn
	c.mu.Lock()
	listed := make(map[uint64]bool, len(c.pending)+len(c.abandoned)) // in the Resume frame
	e := frameEncoder(make([]byte, 0, 128), wire.KindResume)
	e.Uint64(c.sessionID.Load())
	e.ByteSlice(c.rtoken[:])
	e.Uint64(c.epoch)
	e.Uint64(c.recv.Load())
	// The calls whose replies the caller has not taken: those still waiting (the
	// manager says which it never read), and those given up on or refused, which a
	// manager that adopts the session (Adopter) must undo along with the waiting ones.
	e.Len(len(c.pending) + len(c.abandoned) + len(c.rejected))
	for id := range c.pending {
		e.Uint64(id)
		listed[id] = true
	}
	for id := range c.abandoned {
		e.Uint64(id)
		listed[id] = true
	}
	for _, id := range c.rejected {
		e.Uint64(id)
	}
	c.mu.Unlock()
	conn.SetDeadline(time.Now().Add(c.opts.handshakeTimeout()))
	if err := l.w.WriteFrame(e.frame()); err != nil {
		conn.Close()
		return 0, err
	}
	frame, err := l.r.Next()
	if err != nil {
		conn.Close()
		return 0, err
	}
	conn.SetDeadline(time.Time{})
	d := Decoder{buf: frame, off: 1}
	if len(frame) < 2 || frame[0] != wire.KindResumed {
		conn.Close()
		return 0, fmt.Errorf("the manager answered a resume with message kind %d", frame[0])
	}
	status = frame[1]
	d.off = 2
	epoch := d.Uint64()
	msg := d.String()
	unseen := map[uint64]bool{}
	for range max(d.Len(1), 0) {
		unseen[d.Uint64()] = true
	}
	var reserved []uint64
	for range max(d.Len(1), 0) {
		reserved = append(reserved, d.Uint64())
	}
	if err := d.Done(); err != nil {
		conn.Close()
		return 0, fmt.Errorf("malformed resume answer: %w", err)
	}
	switch status {
	case wire.ResumeOK:
	case wire.ResumeShutdown:
		conn.Close()
		return status, nil
	case wire.ResumeRestarted:
		c.mu.Lock()
		c.epoch = epoch
		c.mu.Unlock()
		conn.Close()
		return status, nil
	case wire.ResumeAdopted:
		c.keepAdopted(l) // client_failover.go
		return status, nil
	default:
		conn.Close()
		c.opts.logAt(slog.LevelWarn, "mgr: resume refused", slog.String(LogPeer, c.addr.String()), slog.String(LogErr, msg))
		return status, nil
	}

	// Resumed: the replayed frames follow on l. Install it, then send again what the
	// manager never got.
	c.mu.Lock()
	if c.err != nil { // closed meanwhile
		c.mu.Unlock()
		conn.Close()
		return wire.ResumeRefused, nil
	}
	c.link.Store(l)
	c.resuming = false
	type resend struct {
		id          uint64
		frame       []byte
		cancelFirst bool // its caller gave up before it was sent: the manager fails it unrun
	}
	var again []resend
	var cancels []uint64
	for id, call := range c.pending {
		if unseen[id] || !listed[id] {
			// Never read; or made after the snapshot.
			again = append(again, resend{id, call.frame, false})
			call.unsent = false
		}
		if call.cancelSent.Load() {
			cancels = append(cancels, id) // after the call itself, if that goes again too
		}
	}
	for id, ab := range c.abandoned {
		if ab.frame != nil && (unseen[id] || !listed[id]) {
			again = append(again, resend{id, ab.frame, true}) // dropped unsent (dropUnsent)
		}
	}
	var answers []byte
	rejected := map[uint64]bool{}
	for _, id := range c.rejected {
		rejected[id] = true
	}
	for _, id := range reserved {
		kind := wire.KindAccept
		if _, pending := c.pending[id]; pending {
			continue // its reply is among the replayed frames: answered when it comes
		}
		if _, gaveUp := c.abandoned[id]; gaveUp || rejected[id] {
			kind = wire.KindReject
		}
		answers = wire.AppendUintFrame(answers, kind, id)
	}
	c.mu.Unlock()
	c.lastRecv.Store(time.Now().UnixNano())
	// In the order they were first sent, near enough: a call pipelined on a create goes
	// after it (client_pipe.go).
	slices.SortFunc(again, func(a, b resend) int { return cmp.Compare(a.id, b.id) })
	for _, r := range again {
		if r.cancelFirst {
			var b [wire.MaxUintFrame]byte
			_ = l.w.WriteFrameBuffered(wire.AppendUintFrame(b[:0], wire.KindCancel, r.id))
		}
		_ = l.w.WriteFrameBuffered(r.frame)
	}
	for _, id := range cancels {
		var b [wire.MaxUintFrame]byte
		_ = l.w.WriteFrameBuffered(wire.AppendUintFrame(b[:0], wire.KindCancel, id))
	}
	if len(answers) > 0 {
		_ = l.w.WriteFrameBuffered(answers)
	}
	if err := l.w.Flush(); err != nil {
		c.releaseRead()
		c.broken(l, fmt.Errorf("%w: write to %s after resuming: %w", ErrConnLost, c.addr, err))
		return wire.ResumeOK, nil
	}
	c.releaseRead()
	c.startIdleReader() // the replayed frames may answer calls whose callers wait elsewhere
	return wire.ResumeOK, nil
}

// restarted starts a new session with a manager that restarted: the calls in flight fail
// with ErrManagerRestarted, earlier proxies are stale (their sess is old), and the
// methods of every type are learnt again.
func (c *Client) restarted() {
	err := callError(ErrManagerRestarted, "the manager at %s restarted while the call was in flight", c.addr)
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.handshakeTimeout())
	defer cancel()
	l, derr := c.adoptedOrRedial(ctx) // client_failover.go
	if derr != nil {
		c.releaseRead()
		c.fail(fmt.Errorf("%w: the manager at %s restarted, and a new session failed: %v", ErrConnLost, c.addr, derr))
		return
	}
	c.mu.Lock()
	c.idBase.Store(c.nextID.Load()) // the new session's IDs start above every earlier one
	pending := c.pending
	c.pending = map[uint64]*Call{}
	c.unawaited = 0
	for _, ab := range c.abandoned {
		c.admit.release(ab.slot)
	}
	clear(c.abandoned)
	c.rejected = nil
	c.sessGen.Add(1)
	c.sessionID.Store(0)
	c.recv.Store(0)
	c.acked.Store(0)
	c.unacked.Store(0)
	c.link.Store(l)
	c.resuming = false
	c.mu.Unlock()
	c.binds.mu.Lock()
	c.binds.byType = nil // another build may serve the address now
	c.binds.mu.Unlock()
	for _, call := range pending {
		c.admit.release(call.slot)
		call.err = err
		call.complete()
	}
	c.releaseRead()
	if herr := c.hello(ctx); herr != nil {
		c.fail(fmt.Errorf("%w: the manager at %s restarted, and a new session failed: %v", ErrConnLost, c.addr, herr))
		return
	}
	c.setState(StateRestarted, ErrManagerRestarted)
	c.setState(StateConnected, nil)
}
