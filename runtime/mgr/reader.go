package mgr

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
)

// Reading a session's frames, and running quick calls where they are read.
//
// Handing a call to another goroutine costs more than a small call itself: the reader
// readies the worker, and on a multi-core machine that wakes a second OS thread (a futex
// call, and often a move to another CPU) — measured at about a third of a sequential
// call's latency. So a call to a method marked Inline (mgrgen marks every method that
// takes no context.Context) runs in the reading goroutine itself, and its reply is left
// buffered while more requests are already waiting to be read, so a burst of pipelined
// calls is answered with one write.
//
// Inline must not mean "the session stops reading while a method runs": a method can
// be slow, or wait for a lock another call of the same session holds. While inline
// calls run, a watchdog goroutine (watchInline) looks at every session's reader each
// inlineBudget; a reader found running the same inline call as at its last look gets
// its role handed to a new goroutine (as Go's own scheduler hands a processor away from
// a goroutine stuck in a system call), and the goroutine running the call ends after
// writing its reply. Exactly one goroutine reads at any time: the role passes with a
// compare-and-swap on the state of the reader that held it. A timer per call would be
// simpler, but arming a timer wakes another thread — the cost inline calls avoid.

// inlineBudget is the watchdog's period: an inline call holds up its session's reading
// for one to two of them at most. It is not shorter because a ticker is not free either:
// measured with mgrbench's interleaved sequential rows, a 1 ms watchdog made every
// sequential call ~30 µs slower (1.9–2.1× the ping-pong floor instead of 0.8–1.1×; its
// wake-ups land on the CPUs the calls need, 2 of them here), 10–20 ms still showed, 50 ms
// did not.
const inlineBudget = 50 * time.Millisecond

// inlineLinger is how many quiet periods the watchdog waits before it stops.
const inlineLinger = 20

// inlineSlow is how long, on average, an Inline method may keep its session's reader
// before its calls go to a goroutine of their own instead: a method that slow gains
// little from saving a hand-off (tens of µs at most), and running it inline would hold
// the session's other calls behind it, one at a time. The average follows every call
// (serverType.record), so a method that gets quick again goes back inline.
const inlineSlow = 100 * time.Microsecond

// serverType is a registered type as one manager runs it.
type serverType struct {
	*TypeDesc
	hold []atomic.Int64 // per method: average time it kept the reader (ns), a moving average
}

// quick reports whether method's calls should run inline.
func (t *serverType) quick(method uint64) bool {
	return t.hold[method].Load() < int64(inlineSlow)
}

// record adds one call's time to method's average (weight 1/8; a lost update between
// concurrent calls does not matter).
func (t *serverType) record(method uint64, d time.Duration) {
	// Capped: a call the watchdog would have handed on counts no more than that.
	d = min(max(d, 0), 2*inlineBudget)
	h := &t.hold[method]
	old := h.Load()
	h.Store(old + (int64(d)-old)/8)
}

// holdMeter measures how long a call of an Inline method holds a reader — or, run by a
// worker, would have held one — for serverType.record.
type holdMeter struct {
	t0   int64      // unix nanos
	wctx *inlineCtx // a worker-run call's ctx, which notes its first Blocking
}

// startHold starts measuring j if it calls an Inline method. For a call run by a worker
// it measures what a reader would have spent: not the waits after Blocking, which the
// call's ctx notes (runCall has already taken a busy object's lock).
func (s *Server) startHold(j *callJob) (holdMeter, bool) {
	if j.obj == nil || j.pre != nil || j.method >= uint64(len(j.obj.desc.Methods)) || !j.obj.desc.Methods[j.method].Inline {
		return holdMeter{}, false
	}
	var m holdMeter
	if j.rd == nil && j.obj.desc.Methods[j.method].TakesContext {
		m.wctx = &inlineCtx{Context: j.ctx}
		j.ctx = m.wctx
	}
	m.t0 = time.Now().UnixNano()
	return m, true
}

// stop records the hold; reading says whether j's reader still reads (it was not handed
// on during the call).
func (m holdMeter) stop(j *callJob, reading bool) {
	end := time.Now().UnixNano()
	if j.rd != nil && !reading {
		end = j.rd.handedAt.Load() // the reader was free from then on
	} else if m.wctx != nil {
		if b := m.wctx.blockedAt.Load(); b != 0 {
			end = b
		}
	}
	j.obj.desc.record(j.method, time.Duration(end-m.t0))
}

// States of a sessionReader.
const (
	readerReading   int32 = iota // reading frames
	readerInline                 // running an inline call
	readerHandedOff              // the call overran; another goroutine reads now
)

// sessionReader is the reading role of one session, held by one goroutine.
type sessionReader struct {
	sess     *session
	r        *wire.Reader
	gen      uint64 // the session's connection this reader reads
	state    atomic.Int32
	seq      atomic.Uint64 // inline calls begun
	seen     atomic.Uint64 // seq at the watchdog's last look
	handedAt atomic.Int64  // when the role was last handed on (unix nanos)
	// The inline call running: its request ID, and whether it has no registration in
	// session.calls (no ctx of its own). Written before beginInline, read by overrun
	// after its swap succeeded.
	curReq  uint64
	curBare bool
	// src tells whether bytes wait on the connection (nil: it cannot tell, and slow
	// calls never run inline); queued, that the frame being handled was in the read
	// buffer before the reader looked for it (sequential.go).
	src    arrivals
	queued bool
}

func newSessionReader(sess *session, r *wire.Reader, gen uint64) *sessionReader {
	rd := &sessionReader{sess: sess, r: r, gen: gen}
	rd.src, _ = r.Source().(arrivals)
	// The watchdog looks at the current connection's reader: one handed on from a
	// connection a resume has replaced must not take its place.
	for {
		old := sess.reader.Load()
		if old != nil && old.gen > gen {
			return rd
		}
		if sess.reader.CompareAndSwap(old, rd) {
			return rd
		}
	}
}

// run reads frames until the connection fails (then it ends the session) or until an
// inline call overran its budget and the role passed to another goroutine.
func (rd *sessionReader) run() {
	sess := rd.sess
	for {
		if rd.r.Buffered() == 0 {
			// About to wait for the peer: send the replies left buffered first.
			if err := sess.w.Flush(); err != nil {
				sess.closeConn()
			}
		}
		rd.queued = rd.r.Buffered() > 0
		frame, err := rd.r.Next()
		if err != nil {
			if errors.Is(err, wire.ErrFrameTooLarge) {
				writeGoodbye(sess.w, wire.KindAbort, err.Error())
				sess.srv.endSession(sess, err)
				return
			}
			sess.srv.connLost(sess, rd.gen, err) // resume.go
			return
		}
		sess.lastRecv.Store(time.Now().UnixNano())
		reading, err := rd.handleFrame(frame)
		if err == errClientBye {
			sess.srv.endSession(sess, nil)
			return
		}
		if err != nil {
			err = fmt.Errorf("protocol error: %w", err)
			writeGoodbye(sess.w, wire.KindAbort, err.Error())
			sess.srv.endSession(sess, err)
			return
		}
		if !reading {
			return
		}
	}
}

// beginInline marks the start of an inline call and makes sure the watchdog runs.
func (rd *sessionReader) beginInline() {
	rd.handedAt.Store(0)
	rd.seq.Add(1)
	rd.state.Store(readerInline)
	s := rd.sess.srv
	if !s.inlineWatching.Load() && s.inlineWatching.CompareAndSwap(false, true) {
		go s.watchInline()
	}
}

// endInline ends an inline call and reports whether this goroutine still holds the
// reading role.
func (rd *sessionReader) endInline() bool {
	return rd.state.CompareAndSwap(readerInline, readerReading)
}

// overrun hands the reading role to a new goroutine, unless the call ended meanwhile.
// A call without a registration gets one first, so that the Cancel the new reader may
// read finds it (calls.go).
func (rd *sessionReader) overrun() {
	// The call's first attempt sets the time, read only if a swap succeeds: a later
	// Blocking of the same call (one that waits again, after the hand-off) must not move
	// it past the waits.
	rd.handedAt.CompareAndSwap(0, time.Now().UnixNano())
	sess := rd.sess
	sess.cmu.Lock()
	handed := rd.state.CompareAndSwap(readerInline, readerHandedOff)
	if handed && rd.curBare {
		if _, dup := sess.calls[rd.curReq]; !dup {
			sess.calls[rd.curReq] = &callRec{Context: sess.ctx, sess: sess, id: rd.curReq}
		}
	}
	sess.cmu.Unlock()
	if handed {
		go newSessionReader(sess, rd.r, rd.gen).run()
	}
}

// watchInline is the watchdog of inline calls. It runs while inline calls do, and
// stops after inlineLinger quiet periods.
func (s *Server) watchInline() {
	t := time.NewTicker(inlineBudget)
	defer t.Stop()
	quiet := 0
	for range t.C {
		if s.checkInline() {
			quiet = 0
			continue
		}
		if quiet++; quiet < inlineLinger {
			continue
		}
		s.inlineWatching.Store(false)
		// An inline call that began before the Store saw the watchdog running.
		if !s.anyInline() || !s.inlineWatching.CompareAndSwap(false, true) {
			return
		}
		quiet = 0
	}
}

// checkInline hands on the reading role of every session whose inline call has run
// since the last look, and reports whether any inline call ran.
func (s *Server) checkInline() (busy bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, sess := range s.sessions {
		rd := sess.reader.Load()
		if rd == nil {
			continue
		}
		if seq := rd.seq.Load(); seq != rd.seen.Load() {
			rd.seen.Store(seq)
			busy = true
		} else if rd.state.Load() == readerInline {
			busy = true
			rd.overrun()
		}
	}
	return busy
}

// anyInline reports whether an inline call is running.
func (s *Server) anyInline() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, sess := range s.sessions {
		if rd := sess.reader.Load(); rd != nil && rd.state.Load() == readerInline {
			return true
		}
	}
	return false
}

// callContext gives j a context of its own — with the caller's deadline (timeout, in
// nanoseconds; 0 for none), ended by a Cancel frame naming the call — and registers it
// under the call's request ID (calls.go).
func (sess *session) callContext(j *callJob, timeout uint64) error {
	rec := &callRec{sess: sess, id: j.reqID}
	if timeout > 0 && timeout < uint64(1<<62) {
		rec.Context, rec.cancel = context.WithTimeout(sess.ctx, time.Duration(timeout))
	} else {
		rec.Context, rec.cancel = context.WithCancel(sess.ctx)
	}
	sess.cmu.Lock()
	_, dup := sess.calls[j.reqID]
	if !dup {
		sess.calls[j.reqID] = rec
	}
	sess.cmu.Unlock()
	if dup {
		// A second call under a live ID would take over the first one's cancel.
		rec.end()
		return fmt.Errorf("request ID %d is already in use", j.reqID)
	}
	j.rec, j.ctx = rec, rec
	return nil
}

// end releases the resources of the call's ctx.
func (r *callRec) end() {
	if r.cancel != nil {
		r.cancel()
	}
}

// inlineCtx is the context of an inline call to a method that takes one: Blocking
// finds the call's reader through it.
type inlineCtx struct {
	context.Context
	rd  *sessionReader // nil: a call of an Inline method run by a worker
	seq uint64         // the reader's inline call this context belongs to
	// blockedAt is when a worker-run call first called Blocking (unix nanos): a reader
	// running it would have been handed on then (runCall's measure).
	blockedAt atomic.Int64
}

type inlineCtxKey struct{}

func (c *inlineCtx) Value(key any) any {
	if key == (inlineCtxKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// Blocking tells the manager that the method running under ctx is about to wait — for
// a lock, an item, an event, another process. Methods of types exposed with the
// annotation option "inline" run in the goroutine that reads their session's calls;
// such a method calls Blocking before it waits, and the manager hands reading to
// another goroutine at once, so the session's other calls (the one that would end the
// wait, say) go on. Without it they go on only when the manager's watchdog notices,
// after 50–100 ms. A call that said Blocking is also one Shutdown ends at once (with
// ErrShutdown for its caller) instead of waiting for it to drain: a wait has nothing to
// finish. Anywhere else Blocking does nothing, and it costs little: call it whenever a
// wait is about to begin.
func Blocking(ctx context.Context) {
	if r, ok := ctx.Value(callRecKey{}).(*callRec); ok {
		r.block()
	}
	c, ok := ctx.Value(inlineCtxKey{}).(*inlineCtx)
	if !ok {
		return
	}
	if c.rd == nil {
		c.blockedAt.CompareAndSwap(0, time.Now().UnixNano())
		return
	}
	if c.rd.seq.Load() == c.seq {
		c.rd.overrun()
	}
}

// inlineControl reports whether a call of the manager's own method can run inline:
// all of them only look at or change the manager's tables, except Create, which runs the
// type's constructor and is inline only when that takes no context (InlineNew).
func (s *Server) inlineControl(method uint64, args []byte) bool {
	if method == wire.CtlLookup {
		return s.backend.get() == nil // a backend may ask its store (backend.go)
	}
	if method != wire.CtlCreate && method != wire.CtlCreatePipe {
		return true
	}
	d := Decoder{buf: args}
	desc := s.lookupTypeIn(d.stringBytes())
	return d.err == nil && desc != nil && desc.InlineNew
}

// handleFrame handles one frame; it returns false when this goroutine no longer reads.
func (rd *sessionReader) handleFrame(frame []byte) (reading bool, err error) {
	sess := rd.sess
	s := sess.srv
	if len(frame) == 0 {
		return false, errors.New("empty frame")
	}
	d := Decoder{buf: frame, off: 1}
	switch frame[0] {
	case wire.KindCall, wire.KindCallMeta, wire.KindCallPipe, wire.KindCallPipeMeta:
		reqID, objID, method, timeout := d.Uint64(), d.Uint64(), d.Uint64(), d.Uint64()
		var meta []byte
		pipe := frame[0] == wire.KindCallPipe || frame[0] == wire.KindCallPipeMeta
		if frame[0] == wire.KindCallMeta || frame[0] == wire.KindCallPipeMeta {
			meta = d.ByteSlice() // a copy
		}
		if d.err != nil {
			return false, fmt.Errorf("call header: %w", d.err)
		}
		if fresh, err := sess.markSeen(reqID); err != nil || !fresh {
			return err == nil, err // a call sent again after a resume, which arrived the first time too
		}
		rd.noteCall() // sequential.go
		j := callJob{sess: sess, reqID: reqID, objID: objID, method: method, slot: len(frame), meta: meta}
		// A call pipelined on a create (pipeline.go): objID names the create's request.
		var wait *promise
		if pipe {
			j.objID = 0
			switch p := sess.promiseOf(objID); {
			case p == nil:
				j.pre = errNoPromise(objID)
			default:
				select {
				case <-p.done:
					sess.pipeTarget(&j, p)
				default:
					wait = p // runs in a goroutine of its own once the create ends
				}
			}
		} else if isPipeCreate(objID, method) {
			p, err := sess.newPromise(reqID)
			if err != nil {
				return false, err
			}
			j.promise = p
		}
		// The slot first: waiting for one while holding an object's lock (TryLock below)
		// would lock the object for every session.
		if !sess.acquire(j.slot) {
			return false, errors.New("session ended")
		}
		var inline, takesCtx bool
		if j.pre != nil || wait != nil {
			// Nothing to run inline: a failure, or a wait.
		} else if pipe || objID != wire.ControlObject {
			if !pipe {
				j.obj = s.lookup(objID)
			} // else pipeTarget looked it up
			var slow bool
			if j.obj != nil && method < uint64(len(j.obj.desc.Methods)) {
				m := &j.obj.desc.Methods[method]
				inline, slow = rd.inlineNow(j.obj.desc, method)
				takesCtx = m.TakesContext
			}
			if inline && j.obj.desc.Serialized {
				// The object is busy with another call: wait for it in a worker, not
				// here, where waiting would hold up the session's reading.
				inline = j.obj.mu.TryLock()
				j.locked = inline
			}
			j.slow = inline && slow
		} else {
			inline = s.inlineControl(method, frame[d.off:])
		}
		j.args = s.getBuf(len(frame) - d.off)
		*j.args = append((*j.args)[:0], frame[d.off:]...)
		if inline && !takesCtx {
			// The method takes no context: it runs under the session's, and a Cancel
			// for it has nothing to reach.
			j.ctx = sess.ctx
		} else if err := sess.callContext(&j, timeout); err != nil {
			if j.locked {
				j.obj.mu.Unlock()
			}
			sess.releaseSlot(j.slot)
			s.putBuf(j.args)
			return false, err
		}
		if sess.precancelled(reqID) {
			// Its Cancel came first (after a resume): it fails without running, as a
			// call that never started (runCall).
			if j.pre == nil {
				j.pre = callError(context.Canceled, "%s was cancelled before it started", j.describe())
			}
			if j.rec != nil {
				sess.cancelCall(reqID)
			}
		}
		s.inflight.Add(1)
		sess.running.Add(1) // until the method returns (runCall)
		if wait != nil {
			go sess.runAfter(j, wait) // pipeline.go
			return true, nil
		}
		if !inline {
			s.goCall(j) // workers.go
			return true, nil
		}
		j.rd = rd
		rd.curReq, rd.curBare = reqID, j.rec == nil
		rd.beginInline()
		if takesCtx {
			// Blocking(ctx) hands reading on at once when the method is about to wait.
			j.ctx = &inlineCtx{Context: j.ctx, rd: rd, seq: rd.seq.Load()}
		}
		sess.runCall(j) // ends the inline call (endInline) before it writes
		return rd.state.Load() == readerReading, nil
	case wire.KindCancel, wire.KindAccept, wire.KindReject:
		reqID := d.Uint64()
		if d.err != nil {
			return false, fmt.Errorf("message kind %d: %w", frame[0], d.err)
		}
		if frame[0] == wire.KindCancel {
			sess.cancelCall(reqID)
		} else {
			sess.settle(reqID, frame[0] == wire.KindAccept)
		}
	case wire.KindAck:
		n := d.Uint64()
		if d.err != nil || !sess.w.Ack(n) {
			return false, fmt.Errorf("ack of frame %d, of %d sent", n, sess.w.Sent())
		}
	case wire.KindBye:
		sess.lmu.Lock()
		sess.bye = true
		sess.lmu.Unlock()
		return false, errClientBye
	case wire.KindPing:
		// A failed write is the connection's break, seen by this reader's next read.
		_ = sess.w.WriteFrameBuffered([]byte{0, 0, 0, 1, wire.KindPong})
	default:
		return false, fmt.Errorf("unknown message kind %d", frame[0])
	}
	return true, nil
}
