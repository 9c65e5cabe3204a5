package mgr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
)

// Sessions: one client connection each, with its calls, references and bounds.

// session is one client's connection and everything it holds.
type session struct {
	srv     *Server
	id      uint64
	w       *wire.Writer // logged: frames the client has not acknowledged are kept (resume.go)
	remote  string
	pid     int
	program string
	token   [32]byte // proves a resume is this session's (resume.go)

	// The connection, which a resume replaces (resume.go); guarded by lmu.
	lmu      sync.Mutex
	conn     net.Conn
	gen      uint64      // which connection of the session this is
	detached bool        // the connection broke; the session waits to be resumed
	expire   *time.Timer // ends a detached session after the resume window
	bye      bool        // the client said Bye: its connection's end ends the session
	helloed  bool        // the client has the resume token (Hello answered); without it no resume
	alive    func() bool // whether the client's process lives, when the transport can tell; nil: unknown

	ctx     context.Context // carries the Caller; cancelled when the session ends
	cancel  context.CancelFunc
	done    chan struct{}
	endOnce sync.Once

	cmu        sync.Mutex
	seen       seenIDs                // the request IDs read so far, to drop a call sent twice (resume.go)
	precancel  map[uint64]struct{}    // Cancels that came before their calls (calls.go)
	precancels atomic.Int32           // len(precancel), read without cmu
	calls      map[uint64]*callRec    // calls a Cancel can reach (calls.go)
	reserved   map[uint64]reservation // outcomes the client has not taken yet (calls.go)
	gone       bool                   // the session ended: no more reservations; guarded by cmu
	promises   map[uint64]*promise    // pipelined creates, by request ID (pipeline.go)
	npromises  atomic.Int64           // len(promises), for Info without cmu

	// peerMax is the largest frame the client reads (it says in Hello); replies are
	// checked against it and the manager's own limit.
	peerMax atomic.Int64

	refs  map[uint64]int // object ID → count; guarded by srv.mu
	ended bool           // the session is over; guarded by srv.mu

	lastRecv    atomic.Int64
	flowBlocked atomic.Bool                   // the read loop waits for call slots (acquire)
	reader      atomic.Pointer[sessionReader] // the goroutine reading the session's frames
	// Whether the session's calls come one at a time (sequential.go): running counts its
	// calls read whose method has not returned; concurrent says calls came side by side,
	// and slow calls go to workers until the session is seen idle a while.
	running    atomic.Int32
	concurrent atomic.Bool
	idleRun    atomic.Int32 // calls in a row read while none ran, nothing buffered (concurrent only)

	// Backpressure: calls running and the bytes of their arguments, bounded by
	// maxSessionCalls and maxSessionArgBytes. At the bound the read loop stops reading
	// until a call finishes, so a peer that floods calls, or stops reading replies (its
	// calls then cannot finish), is held back by the transport's flow control instead of
	// by the manager's memory.
	fmu    sync.Mutex
	flow   sync.Cond
	fcalls int
	fbytes int
}

// Per-session bounds on calls in flight (see session.flow). A call that blocks (a
// Queue.Get) holds its slot, so a client with more than maxSessionCalls calls blocked at
// once waits for one of them to end before the next is read.
const (
	maxSessionCalls    = 4096
	maxSessionArgBytes = 64 << 20
)

// acquire waits for room for a call with n bytes of arguments; it returns false when
// the session ended meanwhile. One call always fits, however large.
func (sess *session) acquire(n int) bool {
	sess.fmu.Lock()
	defer sess.fmu.Unlock()
	flushed := false
	for sess.fcalls >= maxSessionCalls || (sess.fcalls > 0 && sess.fbytes+n > maxSessionArgBytes) {
		select {
		case <-sess.done:
			return false
		default:
		}
		if !flushed {
			// About to wait: send the replies inline calls left buffered first — the
			// peer may need one of them to end the calls we wait for.
			flushed = true
			sess.fmu.Unlock()
			if err := sess.w.Flush(); err != nil {
				sess.closeConn()
			}
			sess.fmu.Lock()
			continue
		}
		// While we hold the reading back, the peer's silence is our doing: keep the
		// session's lease alive (watchLease).
		sess.flowBlocked.Store(true)
		sess.flow.Wait()
	}
	sess.flowBlocked.Store(false)
	sess.fcalls++
	sess.fbytes += n
	return true
}

func (sess *session) releaseSlot(n int) {
	sess.fmu.Lock()
	sess.fcalls--
	sess.fbytes -= n
	sess.flow.Signal()
	sess.fmu.Unlock()
}

// stallWriter bounds every write to a session's connection: a peer that stops reading
// for a whole lease fails the write, and the session ends (runCall closes the
// connection) instead of holding its calls' goroutines and replies forever.
//
// The deadline is moved forward only when less than half the lease is left, not on
// every write, to keep re-arming a runtime timer off the path of every reply. A stalled
// write therefore fails between half a lease and a lease after it began. Writes are
// serialised by the wire.Writer that owns this value.
type stallWriter struct {
	conn     net.Conn
	w        io.Writer // connWriter(conn)
	timeout  time.Duration
	deadline time.Time
}

func newStallWriter(conn net.Conn, timeout time.Duration) *stallWriter {
	return &stallWriter{conn: conn, w: connWriter(conn), timeout: timeout}
}

func (w *stallWriter) Write(p []byte) (int, error) {
	if now := time.Now(); w.deadline.Sub(now) < w.timeout/2 {
		w.deadline = now.Add(w.timeout)
		w.conn.SetWriteDeadline(w.deadline)
	}
	return w.w.Write(p)
}

// connReader returns what reads conn: its raw reader where it has one (rawio_linux.go),
// polling within sp's budget (spin.go; nil: never), else conn. One goroutine reads at a
// time.
func connReader(conn net.Conn, sp *pollBudget) io.Reader {
	if r := rawReaderOf(conn, sp); r != nil {
		return r
	}
	return conn
}

// connWriter is connReader's counterpart; one goroutine writes at a time (a wire.Writer
// serialises them).
func connWriter(conn net.Conn) io.Writer {
	if w := rawWriterOf(conn); w != nil {
		return w
	}
	return conn
}

// isDetachedNow reports whether the session waits to be resumed (resume.go): its
// silence is the broken connection's, which the resume window bounds, not the lease.
func (sess *session) isDetachedNow() bool {
	sess.lmu.Lock()
	defer sess.lmu.Unlock()
	return sess.detached
}

// watchLease ends a session that has been silent for longer than the lease (a client
// pings at a third of it), so a peer lost to the network does not keep its references.
func (sess *session) watchLease() {
	lease := sess.srv.opts.lease()
	t := time.NewTicker(lease / 4)
	defer t.Stop()
	for {
		select {
		case <-sess.done:
			return
		case <-t.C:
			if sess.flowBlocked.Load() || sess.isDetachedNow() {
				sess.lastRecv.Store(time.Now().UnixNano())
				continue
			}
			if quiet := time.Since(time.Unix(0, sess.lastRecv.Load())); quiet > lease {
				sess.srv.endSession(sess, fmt.Errorf("no word for %s (lease %s)", quiet.Round(time.Millisecond), lease))
				return
			}
		}
	}
}

// endSession drops everything the session held: its calls are cancelled, waiters see
// Caller.Done close, and each of its references is released.
func (s *Server) endSession(sess *session, reason error) {
	sess.endOnce.Do(func() {
		sess.cancel()
		close(sess.done)
		sess.fmu.Lock()
		sess.flow.Broadcast() // a read loop waiting for a call slot gives up
		sess.fmu.Unlock()
		sess.lmu.Lock()
		sess.conn.Close()
		if sess.expire != nil {
			sess.expire.Stop()
		}
		sess.lmu.Unlock()
		// Outcomes the client never took go back: an item to its queue, a token to its
		// table (calls.go). Calls still running undo theirs when they finish (finish).
		sess.cmu.Lock()
		sess.gone = true
		reserved := sess.reserved
		sess.reserved = nil
		sess.cmu.Unlock()
		for _, r := range reserved {
			runAll(r.undo)
		}
		s.mu.Lock()
		pid, program := sess.pid, sess.program // written by Hello under s.mu
		delete(s.sessions, sess.id)
		for id, n := range sess.refs {
			if obj := s.objects[id]; obj != nil {
				obj.refs.add(sess.id, -n)
				s.maybeRemoveLocked(obj)
			}
		}
		sess.refs = nil
		sess.ended = true
		s.mu.Unlock()
		level, why := slog.LevelWarn, slog.Any(LogErr, reason)
		if reason == nil || errors.Is(reason, io.EOF) || errors.Is(reason, net.ErrClosed) || errors.Is(reason, errClientBye) {
			level, why = slog.LevelInfo, slog.String("reason", "closed by the client")
		}
		s.opts.logAt(level, "mgr: session ended", slog.Uint64(LogSession, sess.id), slog.Int(LogPID, pid),
			slog.String(LogPeer, sess.remote), slog.String(LogProgram, program), why)
	})
}
