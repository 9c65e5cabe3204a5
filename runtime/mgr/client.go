package mgr

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
)

// Client is this process's session with one manager: a single authenticated connection
// that every proxy and goroutine shares. Calls are multiplexed (request IDs, replies
// matched out of order), so a blocked call never holds up another. A Client is safe for
// concurrent use. Close ends the session, and the manager drops every reference it held.
type Client struct {
	addr Address
	opts Options
	cdc  Codec
	spin *pollBudget // its reader's polling budget (spin.go); nil: it never polls
	busy atomic.Bool // the last call sent had others in flight: its reader does not poll
	// link is the current connection (a resume replaces it: client_resume.go). The reader
	// holding readTok reads its r; writers write its w.
	link atomic.Pointer[link]

	nextID  atomic.Uint64
	mu      sync.Mutex
	pending map[uint64]*Call
	err     error // why the connection ended; set once, under mu
	done    chan struct{}

	lastRecv atomic.Int64 // unix nanos of the last frame received
	calls    sync.Pool

	// The session (client_resume.go): the manager's ID for it, the token that resumes it,
	// the manager's epoch, and which session of this Client it is (a manager restart
	// starts another; proxies of an earlier one get ErrManagerRestarted).
	sessionID atomic.Uint64
	rtoken    [32]byte // guarded by mu
	epoch     uint64   // guarded by mu
	sessGen   atomic.Uint64
	idBase    atomic.Uint64 // the session's request IDs are all above it (a new session after a restart)
	recv      atomic.Uint64 // frames received from the manager in this session
	acked     atomic.Uint64 // the count last acknowledged
	unacked   atomic.Int64  // bytes received since the last acknowledgement
	resuming  bool          // a reconnect is under way; guarded by mu
	rejected  []uint64      // recent Reject answers, said again on a resume; guarded by mu
	state     atomic.Int32  // ConnState

	// Reading (client_read.go): whoever holds readTok reads frames for every call —
	// usually a caller waiting for its own reply, otherwise the idle reader.
	readTok     chan struct{} // capacity 1; full while someone reads
	rmu         sync.Mutex    // guards leader and interrupted
	leader      *Call         // the call whose goroutine reads, if any
	leaderConn  net.Conn      // the connection it reads
	interrupted bool          // a read deadline is set to wake the reader

	rel       releaser                 // references to drop (client_release.go)
	binds     bindings                 // the manager's methods, by type (client_bind.go)
	admit     admission                // calls in flight, within the manager's bounds
	abandoned map[uint64]abandonedCall // calls given up on, still running in the manager; guarded by mu
	failover  failoverState            // other managers to redial (client_failover.go)

	deferred  atomic.Bool               // frames or releases wait for a write to go with (client_pipe.go)
	flushing  atomic.Bool               // keepAlive's flushDeferred runs
	unawaited int                       // the calls in pending with an onDone; guarded by mu
	ctl       atomic.Pointer[Handle]    // the manager's own object, this session's (controlHandle)
	ending    atomic.Pointer[endReason] // the manager shuts down or exited: the connection's end is not resumed (readToEnd)
}

// abandonedCall is a call whose caller gave up while the manager still runs it: the room
// it takes among the calls in flight, and its proxy arguments, kept alive until its
// reply (the manager may not have read them yet).
type abandonedCall struct {
	slot  int
	keep  []*Handle
	frame []byte // a call dropped before it was sent (dropUnsent): a resume sends it, unrun
}

// Connect dials the manager at opts.Address, runs the handshake with opts.AuthKey and
// returns the session. A wrong authkey fails with ErrAuth.
func Connect(ctx context.Context, opts Options) (*Client, error) {
	if opts.Address.Network == "" {
		return nil, errors.New("mgr: Connect needs Options.Address")
	}
	if len(opts.AuthKey) == 0 {
		return nil, errors.New("mgr: Connect needs Options.AuthKey")
	}
	conn, err := dial(ctx, opts.Address, opts.TLS)
	if err != nil {
		return nil, err
	}
	c, err := newClient(ctx, conn, opts)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

func newClient(ctx context.Context, conn net.Conn, opts Options) (*Client, error) {
	opts = withSlowCall(opts) // interceptor.go
	c := &Client{
		addr:      opts.Address,
		opts:      opts,
		cdc:       opts.codec(),
		pending:   map[uint64]*Call{},
		abandoned: map[uint64]abandonedCall{},
		done:      make(chan struct{}),
	}
	if c.spin = newPollBudget(opts); c.spin != nil {
		c.spin.busy = c.busy.Load
	}
	l, err := c.handshake(ctx, conn)
	if err != nil {
		return nil, err
	}
	c.link.Store(l)
	c.sessGen.Store(1)
	c.lastRecv.Store(time.Now().UnixNano())
	c.calls.New = func() any {
		// Room for a typical call's arguments, so the first encode does not grow it.
		return &Call{done: make(chan struct{}, 1), ack: make(chan struct{}, 1), conn: c, Args: Encoder{buf: make([]byte, 0, 256)}}
	}
	c.readTok = make(chan struct{}, 1)
	go c.keepAlive()
	if err := c.hello(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// handshake authenticates conn and returns it as the client's link.
func (c *Client) handshake(ctx context.Context, conn net.Conn) (*link, error) {
	r := wire.NewReader(connReader(conn, c.spin), c.opts.maxFrame())
	deadline := time.Now().Add(c.opts.handshakeTimeout())
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn.SetDeadline(deadline)
	// A ctx cancelled without a deadline must end the handshake too.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	err := wire.ClientHandshake(conn, r, c.opts.AuthKey, c.cdc.Name())
	if !stop() && ctx.Err() != nil {
		return nil, fmt.Errorf("connect to %s: %w", c.opts.Address, ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", c.opts.Address, err)
	}
	conn.SetDeadline(time.Time{})
	r.SetMax(c.opts.maxFrame())
	return &link{conn: conn, r: r, w: wire.NewWriter(connWriter(conn))}, nil
}

// hello introduces the client — the manager shows its PID and program in its
// introspection — and learns the session's ID, resume token and the manager's epoch.
func (c *Client) hello(ctx context.Context) error {
	prog, _ := os.Executable()
	var sid, epoch uint64
	var token []byte
	err := c.control(ctx, wire.CtlHello, func(e *Encoder) {
		e.Int64(int64(os.Getpid()))
		e.String(prog)
		e.Uint64(uint64(c.opts.maxFrame())) // replies larger than this fail their call, not the connection
		e.Uint64(c.idBase.Load())           // this session's request IDs are all above it
	}, func(d *Decoder) {
		sid, epoch, token = d.Uint64(), d.Uint64(), d.ByteSlice()
		if d.Err() == nil && len(token) != 32 {
			d.Fail("resume token of %d bytes", len(token))
		}
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	copy(c.rtoken[:], token)
	c.epoch = epoch
	c.mu.Unlock()
	c.sessionID.Store(sid)
	return nil
}

// Address returns the manager's address.
func (c *Client) Address() Address { return c.addr }

// SessionID returns the ID the manager gave this session (another one after the
// manager restarted).
func (c *Client) SessionID() uint64 { return c.sessionID.Load() }

// Done is closed when the connection has ended; Err then says why. With no call in
// flight the client notices a dropped connection or the manager's goodbye within about
// 250 ms (the idle reader, client_read.go); a call in flight notices at once.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended — wrapping ErrShutdown (the manager shut down),
// ErrConnLost (it died, or the network failed) or ErrClientClosed (Close was called) —
// or nil while it is up. Every call through the client afterwards fails with it.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close ends the session. The manager drops the session's references; calls through
// proxies made through this Client fail with ErrClientClosed afterwards (or ErrShutdown,
// if the manager had shut down first).
func (c *Client) Close() error {
	c.mu.Lock()
	up := c.err == nil && !c.resuming
	c.mu.Unlock()
	if up {
		// Bye tells the manager the session ends on purpose, not in a break: it drops
		// everything now instead of keeping it for a resume.
		l := c.link.Load()
		l.conn.SetWriteDeadline(time.Now().Add(time.Second))
		_ = l.w.WriteFrameFlushed([]byte{0, 0, 0, 1, wire.KindBye}) // the last frame: the close follows
	}
	c.fail(fmt.Errorf("%w: Close was called on the connection to %s", ErrClientClosed, c.addr))
	return nil
}

func (c *Client) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	pending := c.pending
	c.pending = nil
	c.unawaited = 0
	close(c.done)
	c.mu.Unlock()
	c.link.Load().conn.Close()
	c.setState(StateClosed, err)
	for _, call := range pending {
		call.err = err
		call.complete()
	}
}

// failAfterWriteError handles a failed write on l. The reader usually knows better why
// the connection broke (the manager said goodbye because it shut down, or aborted the
// session with a reason), so it gets a moment to say so first; then it is a break.
func (c *Client) failAfterWriteError(l *link, err error) {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		c.broken(l, fmt.Errorf("%w: write to %s: %w", ErrConnLost, c.addr, err))
	}
}

// handleFrame handles one frame from the manager; reply reports that it was the reply
// to a call.
func (c *Client) handleFrame(frame []byte) (reply bool, err error) {
	if len(frame) == 0 {
		return false, errors.New("empty frame")
	}
	d := Decoder{buf: frame, off: 1}
	switch frame[0] {
	case wire.KindReply, wire.KindReserved, wire.KindError, wire.KindReservedError:
		id := d.Uint64()
		if d.err != nil {
			return false, d.err
		}
		c.mu.Lock()
		call := c.pending[id]
		delete(c.pending, id)
		if call != nil && call.onDone != nil {
			c.unawaited--
		}
		ab, late := c.abandoned[id]
		delete(c.abandoned, id)
		c.mu.Unlock()
		if late {
			c.admit.release(ab.slot)
		}
		isErr := frame[0] == wire.KindError || frame[0] == wire.KindReservedError
		var refs []uint64
		if !isErr {
			// The references the reply counted for this session (finishReply).
			n := d.Uint64()
			for i := uint64(0); i < n && d.err == nil; i++ {
				id := d.Uint64()
				if call == nil {
					refs = append(refs, id)
				}
			}
			if d.err != nil {
				return false, fmt.Errorf("reply references: %w", d.err)
			}
		}
		if frame[0] == wire.KindReserved || frame[0] == wire.KindReservedError {
			// The manager keeps what the call did until we say whether the caller took it
			// (calls.go): Reject undoes it all, references too.
			kind := wire.KindAccept
			if call == nil {
				kind = wire.KindReject
				c.mu.Lock()
				c.rejected = append(c.rejected, id) // said again on a resume
				if len(c.rejected) > maxRejectedKept {
					c.rejected = c.rejected[len(c.rejected)-maxRejectedKept:]
				}
				c.mu.Unlock()
			}
			go c.sendSmall(kind, id)
			refs = nil
		}
		if call == nil {
			// The caller gave up (cancelled): drop the late reply, and the references
			// it brought, which no Handle owns.
			for _, id := range refs {
				c.dropRef(id)
			}
			return false, nil
		}
		c.admit.release(call.slot)
		if !isErr {
			call.reply = append(call.reply[:0], frame[d.off:]...)
			call.err = nil
		} else {
			msg, name, stack := d.String(), d.String(), d.String()
			if d.err != nil {
				call.err = fmt.Errorf("%w: malformed error reply", ErrConnLost)
			} else {
				call.err = newRemoteError(msg, name, stack)
			}
		}
		call.complete()
		return true, nil
	case wire.KindCancelAck:
		id := d.Uint64()
		if d.err != nil {
			return false, d.err
		}
		c.mu.Lock()
		if call := c.pending[id]; call != nil {
			// Under mu while pending: the call cannot have been recycled for another.
			select {
			case call.ack <- struct{}{}:
			default:
			}
		}
		c.mu.Unlock()
	case wire.KindPong:
	case wire.KindGoodbye:
		msg := d.String()
		c.fail(fmt.Errorf("%w (%s): %s", ErrShutdown, c.addr, msg))
	case wire.KindAbort:
		msg := d.String()
		c.fail(fmt.Errorf("%w: the manager closed the connection: %s", ErrConnLost, msg))
	default:
		return false, fmt.Errorf("unknown message kind %d", frame[0])
	}
	return false, nil
}

// keepAlive pings the manager every third of the lease, gives up on a manager that has
// said nothing for a whole lease, and starts the idle reader on a connection nobody
// reads (client_read.go).
func (c *Client) keepAlive() {
	lease := c.opts.lease()
	t := time.NewTicker(min(lease/3, idleReadEvery))
	defer t.Stop()
	ping := []byte{0, 0, 0, 1, wire.KindPing}
	lastPing := time.Now()
	var pinging atomic.Bool
	for {
		select {
		case <-c.done:
			return
		case now := <-t.C:
			quiet := now.Sub(time.Unix(0, c.lastRecv.Load()))
			l := c.link.Load()
			if quiet > lease {
				c.broken(l, fmt.Errorf("%w: no word from %s for %s", ErrConnLost, c.addr, quiet.Round(time.Millisecond)))
				c.lastRecv.Store(now.UnixNano()) // the reconnect has its own window
				continue
			}
			c.startIdleReader()
			if c.deferred.Swap(false) && !c.flushing.Swap(true) {
				// Nothing went out since: send them alone — from a goroutine of its own,
				// since releases may wait for room among the calls in flight.
				go func() {
					defer c.flushing.Store(false)
					c.flushDeferred()
				}()
			}
			c.sendAck(true)
			// The ping's write may wait behind a caller's large one; this loop must not.
			if now.Sub(lastPing) >= lease/3 && !pinging.Swap(true) {
				lastPing = now
				go func() {
					defer pinging.Store(false)
					if err := l.w.WriteFrame(ping); err != nil {
						c.broken(l, fmt.Errorf("%w: %w", ErrConnLost, err))
					}
				}()
			}
		}
	}
}

// newCall implements handleOwner: a pooled Call with room reserved for the header.
func (c *Client) newCall(h *Handle, method int) *Call {
	call := c.calls.Get().(*Call)
	call.h = h
	call.method = method
	call.name = ""
	call.meta = false
	call.Args.buf = append(call.Args.buf[:0], make([]byte, reservedHeader)...)
	call.Args.env = c
	call.Args.err = nil
	select {
	case <-call.ack: // left by an earlier use, acknowledged and then answered
	default:
	}
	return call
}

func (c *Client) putCall(call *Call) {
	if cap(call.Args.buf) > 64<<10 || cap(call.reply) > 64<<10 {
		return // let the garbage collector have large buffers
	}
	call.h = nil
	call.onDone = nil
	call.pipe = nil
	call.nrel = 0
	call.cancelSent.Store(false) // else a resume would cancel the Call's next use
	call.res = Decoder{}
	call.err = nil
	clear(call.Args.keep)
	call.Args.keep = call.Args.keep[:0]
	c.calls.Put(call)
}

// call implements handleOwner: it sends c and waits for the reply.
func (c *Client) call(ctx context.Context, call *Call) error {
	if err := c.send(ctx, call, false); err != nil {
		return err
	}
	if err := c.await(ctx, call); err != nil {
		return err
	}
	call.res = Decoder{buf: call.reply, env: c}
	return nil
}

// staleHandle is the error of a call through a proxy of an earlier session's manager.
func (c *Client) staleHandle(call *Call) error {
	return callError(ErrManagerRestarted, "%s#%d: the manager at %s has restarted since this proxy was made; its object is gone (look named objects up again)", call.h.typeID, call.h.objID(), c.addr)
}

// send sends call, pending a reply. Deferred leaves its frame buffered, to go with the
// next frame written or at the next idle tick (client_pipe.go).
func (c *Client) send(ctx context.Context, call *Call, deferred bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if call.onDone == nil && c.rel.queued.Load() && c.admit.roomy() {
		// Queued releases go ahead of this call, in its write. Not when calls in flight
		// near the manager's bound: waiting for room would not heed this call's ctx
		// (the idle tick sends them then).
		c.sendReleases(true)
	}
	// A call that can never be sent fails now, not after waiting for room (at the head of
	// the line, holding up every call behind it), and before it takes a request ID: an ID
	// taken must be sent, or the manager's record of the IDs it has read (resume.go)
	// would keep a hole. The bound counts the header at its largest.
	if n := len(call.Args.buf) - wire.HeaderSize; n > c.opts.maxFrame() {
		return fmt.Errorf("%w: arguments of %s take %d bytes, limit %d", ErrFrameTooLarge, call.describe(), n, c.opts.maxFrame())
	}
	// The manager's index of the method, learnt once per type and session (client_bind.go)
	// with a control call of its own. Before taking room among the calls in flight: that
	// control call needs room too, which this call, holding the whole allowance, would
	// never leave it.
	method := uint64(call.method)
	ctl := call.h.isControl()
	if !ctl {
		if call.h.sess != c.sessGen.Load() {
			return c.staleHandle(call)
		}
		m, err := c.remoteMethod(ctx, call)
		if err != nil {
			return err
		}
		method = m
	}
	// Room for the call among those in flight. The reserved header space counts in full,
	// so the client's count is never below the manager's.
	call.slot = len(call.Args.buf)
	if err := c.admit.acquire(ctx, c.done, call.slot); err != nil {
		if err == errConnDone {
			return c.Err()
		}
		return fmt.Errorf("%s: waiting for the manager to admit the call: %w", call.describe(), err)
	}
	// Every failure from here on gives the room back, in this one place.
	if err := c.sendAdmitted(ctx, call, method, ctl, deferred); err != nil {
		c.admit.release(call.slot)
		return err
	}
	return nil
}

// sendAdmitted is send once call holds its room among the calls in flight: it frames
// call and writes it. An error means call was not made pending (send gives the room
// back); a failed write is not one: the connection's break handles it.
func (c *Client) sendAdmitted(ctx context.Context, call *Call, method uint64, ctl, deferred bool) error {
	var timeout uint64
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left <= 0 {
			return fmt.Errorf("%s: %w", call.describe(), context.DeadlineExceeded)
		}
		timeout = uint64(left)
	}
	// A proxy whose create has not been answered yet names it by its request ID
	// (client_pipe.go).
	kind, objID, err := call.h.target()
	if err != nil {
		return fmt.Errorf("%s: %w", call.describe(), err)
	}
	call.id = c.nextID.Add(1)

	// Write the header right-aligned into the reserved space in front of the arguments.
	var hdr [reservedHeader]byte
	h := hdr[:wire.HeaderSize]
	if call.meta {
		// Metadata in front of the arguments (interceptor.go).
		if kind == wire.KindCallPipe {
			kind = wire.KindCallPipeMeta
		} else {
			kind = wire.KindCallMeta
		}
	}
	h = append(h, kind)
	h = binary.AppendUvarint(h, call.id)
	h = binary.AppendUvarint(h, objID)
	h = binary.AppendUvarint(h, method)
	h = binary.AppendUvarint(h, timeout)
	start := reservedHeader - len(h)
	frame := call.Args.buf[start:]
	copy(frame, h)
	wire.PutHeader(frame, len(frame)-wire.HeaderSize)
	call.frame = frame // sent again if a resume finds the manager never read it

	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return err
	}
	if !ctl && call.h.sess != c.sessGen.Load() {
		// The manager restarted while this call was being made (restarted holds mu).
		c.mu.Unlock()
		return c.staleHandle(call)
	}
	c.pending[call.id] = call
	// While the connection is down (a resume under way) the call is not written into the
	// dead link, where the manager might or might not read it: the resume sends it. Until
	// then the manager cannot have it, and a caller whose ctx ends drops it (dropUnsent).
	call.unsent = c.resuming
	unsent := call.unsent
	if call.onDone != nil {
		c.unawaited++
	}
	// Others' calls in flight whose callers are about to send more (not the calls nobody
	// waits for: a pipelined create, releases).
	busy := len(c.pending)-c.unawaited > 1
	c.mu.Unlock()
	c.busy.Store(busy)
	if unsent {
		return nil
	}

	if len(frame) > largeWrite {
		// A write this large can wait for the manager to read, and the manager for us
		// to read what it is writing: make sure someone reads meanwhile.
		c.startIdleReader()
	}
	l := c.link.Load()
	if deferred {
		err = l.w.WriteFrameBuffered(frame)
		c.deferred.Store(true)
	} else {
		err = c.write(l, frame, busy)
	}
	if err != nil {
		go c.failAfterWriteError(l, err)
	}
	return nil
}

// write sends a call's frame. With other calls in flight it first lets the goroutines
// that are ready to run (callers just handed their replies, about to send their next
// calls) add their frames, so one system call sends them all: under load, writes
// dominate the client's CPU otherwise, one per call.
func (c *Client) write(l *link, frame []byte, busy bool) error {
	if !busy {
		return l.w.WriteFrame(frame)
	}
	if err := l.w.WriteFrameBuffered(frame); err != nil {
		return err
	}
	runtime.Gosched()
	return l.w.Flush() // a no-op if another caller flushed our frame with its own
}

// sendSmall sends a frame that names a call: Cancel, Accept or Reject.
func (c *Client) sendSmall(kind byte, id uint64) {
	var b [wire.MaxUintFrame]byte
	// A broken connection is reported by the reader; a resume says it again.
	_ = c.link.Load().w.WriteFrame(wire.AppendUintFrame(b[:0], kind, id))
}

// control calls a method of the manager itself.
func (c *Client) control(ctx context.Context, method int, enc func(*Encoder), dec func(*Decoder)) error {
	h := c.controlHandle(c.sessGen.Load())
	call := c.newCall(h, method)
	if enc != nil {
		enc(&call.Args)
	}
	res, err := call.Do(ctx)
	if err != nil {
		return err
	}
	if dec != nil {
		dec(res)
	}
	return call.End()
}

// Create asks the manager to construct a new object of the registered type typeID,
// with constructor arguments written by args, and returns this session's reference to
// it. Generated CreateT functions call it.
func (c *Client) Create(ctx context.Context, typeID string, args func(*Encoder)) (*Handle, error) {
	var id uint64
	err := c.control(ctx, wire.CtlCreate, func(e *Encoder) {
		e.String(typeID)
		if args != nil {
			args(e)
		}
	}, func(d *Decoder) { id = d.Uint64() })
	if err != nil {
		return nil, err
	}
	return c.newHandle(id, typeID), nil
}

// Attach turns a token made in another process into a reference owned by this session.
func (c *Client) Attach(ctx context.Context, tok Token) (*Handle, error) {
	var id uint64
	var typeID string
	err := c.control(ctx, wire.CtlAttach, func(e *Encoder) {
		e.Uint64(tok.ObjectID)
		e.ByteSlice(tok.Secret[:])
		e.Uint64(tok.Epoch)
	}, func(d *Decoder) {
		id = d.Uint64()
		typeID = d.String()
	})
	if err != nil {
		return nil, err
	}
	return c.newHandle(id, typeID), nil
}

// Lookup returns a reference to the manager's named object name (Python's
// register('get_queue', callable=lambda: queue)).
func (c *Client) Lookup(ctx context.Context, name string) (*Handle, error) {
	var id uint64
	var typeID string
	err := c.control(ctx, wire.CtlLookup, func(e *Encoder) { e.String(name) }, func(d *Decoder) {
		id = d.Uint64()
		typeID = d.String()
	})
	if err != nil {
		return nil, err
	}
	return c.newHandle(id, typeID), nil
}

// Info returns the manager's introspection: its sessions and objects with their
// references and holders. A large manager describes itself in pages of at most half a
// frame each, fetched one after the other; each page is consistent, and objects made or
// removed while Info pages through them may be missing.
func (c *Client) Info(ctx context.Context) (Info, error) {
	var info Info
	var sessAfter, objAfter uint64
	for {
		var p infoPage
		err := c.control(ctx, wire.CtlInfo, func(e *Encoder) {
			e.Uint64(sessAfter)
			e.Uint64(objAfter)
		}, func(d *Decoder) { d.Value(&p) })
		if err != nil {
			return Info{}, err
		}
		info.Sessions = append(info.Sessions, p.Sessions...)
		info.Objects = append(info.Objects, p.Objects...)
		if len(p.Sessions) > 0 {
			sessAfter = p.Sessions[len(p.Sessions)-1].ID
		}
		if len(p.Objects) > 0 {
			objAfter = p.Objects[len(p.Objects)-1].ID
		}
		if !p.MoreSessions && !p.MoreObjects {
			return info, nil
		}
	}
}

// Shutdown asks the manager to shut down: it ends the calls that wait at once, drains
// the others until ctx's deadline (or the manager's DrainTimeout, when ctx has none),
// then stops. It returns once the manager accepted the request; every later call fails
// with ErrShutdown.
func (c *Client) Shutdown(ctx context.Context) error {
	var drain uint64
	if dl, ok := ctx.Deadline(); ok {
		drain = uint64(max(time.Until(dl), 1))
	}
	err := c.control(ctx, wire.CtlShutdown, func(e *Encoder) { e.Uint64(drain) }, nil)
	if err == nil {
		c.readToEnd(nil)
	}
	return err
}

// readToEnd makes sure the client reads everything the manager sent until its goodbye
// or the connection's end, which then ends the client (Done) with why — or, for nil, an
// ErrShutdown — rather than starting a resume: for a manager that is shutting down or has
// exited, whose last replies (the calls its shutdown drained) come just before the end.
func (c *Client) readToEnd(why error) {
	c.ending.Store(&endReason{why})
	c.startIdleReader()
}

// endReason is the error a client ends with at its connection's end (readToEnd).
type endReason struct{ err error }

// controlHandle returns the Handle of the manager's own object for session generation
// gen. Control calls only read it, so one per session serves them all, and a release or
// pipelined create allocates none.
func (c *Client) controlHandle(gen uint64) *Handle {
	if h := c.ctl.Load(); h != nil && h.sess == gen {
		return h
	}
	h := &Handle{owner: c, id: wire.ControlObject, typeID: "mgr.Manager", sess: gen}
	c.ctl.Store(h)
	return h
}

func (c *Client) newHandle(id uint64, typeID string) *Handle {
	h := &Handle{owner: c, id: id, typeID: typeID, sess: c.sessGen.Load()}
	h.cleanup = runtime.AddCleanup(h, releaseLeaked, leakedRef{c, relRef{id: id, sess: h.sess}})
	return h
}

// token implements handleOwner.
func (c *Client) token(ctx context.Context, h *Handle) (Token, error) {
	if err := h.Ready(ctx); err != nil { // a pipelined create: its object's ID first
		return Token{}, err
	}
	id := h.objID()
	c.mu.Lock()
	tok := Token{ObjectID: id, TypeID: h.typeID, Epoch: c.epoch}
	c.mu.Unlock()
	err := c.control(ctx, wire.CtlToken, func(e *Encoder) { e.Uint64(id) }, func(d *Decoder) {
		b := d.ByteSlice()
		if len(b) != len(tok.Secret) {
			d.Fail("token secret of %d bytes", len(b))
			return
		}
		copy(tok.Secret[:], b)
		if d.Remaining() > 0 { // a token of the backend's cluster (backend_share.go)
			tok.Epoch, tok.ObjectID = d.Uint64(), d.Uint64()
		}
	})
	return tok, err
}

func (c *Client) describe() string { return c.addr.String() }

// refEnv: encoding proxies as arguments and decoding proxies in results.

func (c *Client) codec() Codec { return c.cdc }

func (c *Client) encodeRef(h *Handle) (uint64, bool, error) {
	if h.owner != handleOwner(c) {
		return 0, false, fmt.Errorf("mgr: proxy %s#%d belongs to another manager connection (%s)", h.typeID, h.objID(), h.owner.describe())
	}
	if h.pipe != nil {
		// A pipelined create's object passed as an argument: the manager needs its ID.
		if err := h.Ready(context.Background()); err != nil {
			return 0, false, err
		}
		return h.objID(), false, nil
	}
	return h.id, false, nil
}

func (c *Client) decodeRef(id uint64, typeID string) (*Handle, error) {
	// The manager counted a reference for this session when it wrote the reply.
	return c.newHandle(id, typeID), nil
}

func (c *Client) referent(uint64, string) (any, error) {
	return nil, errors.New("mgr: a client cannot resolve references to objects")
}

func (c *Client) newObject(string, any) (uint64, error) {
	return 0, errors.New("mgr: a client cannot register objects")
}

var _ io.Closer = (*Client)(nil)
