package mgr

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/mgr-go/mgr/internal/wire"
)

// Running calls and writing their replies.

// replyReserve is room for a reply's frame length, kind, request ID and its list of
// references, when that is short: a create's reply names its one new object, and writing
// the list in place spares that reply a copy of itself.
const replyReserve = wire.HeaderSize + 1 + binary.MaxVarintLen64 + 1 + 2*binary.MaxVarintLen64

// runCall runs one call and writes its reply. A call run inline by the session's reader
// (j.rd != nil) leaves its reply buffered when more requests are already waiting to be
// read, so pipelined calls share one write.
func (sess *session) runCall(j callJob) {
	s := sess.srv
	defer func() {
		sess.releaseSlot(j.slot)
		s.putBuf(j.args)
		if s.inflight.Add(-1) == 0 && s.shutting.Load() {
			select {
			case s.drained <- struct{}{}:
			default:
			}
		}
	}()
	sc := s.getScratch()
	defer s.putScratch(sc)
	limit := sess.replyLimit()
	enc := &sc.enc
	*enc = Encoder{buf: append(enc.buf[:0], make([]byte, replyReserve)...), env: sess, track: true,
		limit: replyReserve + limit} // beyond it the reply fails anyway (below)

	if j.rd == nil && j.obj != nil && j.obj.desc.Serialized && !j.locked && !s.shutting.Load() && j.pre == nil &&
		j.method < uint64(len(j.obj.desc.Methods)) {
		// A worker waits for a one-at-a-time object here rather than in dispatchObject,
		// so the wait stays out of the hold measured next (a reader never waits for it).
		j.obj.mu.Lock()
		j.locked = true
	}
	hold, measured := s.startHold(&j) // reader.go
	// err is the method's own outcome; failed is the runtime's refusal of it, after which
	// nothing the call did is kept.
	var err, failed error
	// Refused without running: the manager shuts down, the create the call was pipelined
	// on failed (pipeline.go), or its Cancel came first (reader.go).
	refused := j.pre
	if s.shutting.Load() {
		refused = callError(ErrShutdown, "the manager is shutting down")
	}
	if refused != nil {
		if j.locked {
			j.obj.mu.Unlock() // taken for an inline call by the reader (TryLock)
		}
		failed = refused
	} else {
		dec := &sc.dec
		*dec = Decoder{buf: *j.args, env: sess, meta: j.meta}
		if j.objID == wire.ControlObject {
			err = s.control(j.ctx, sess, j.method, dec, enc)
		} else {
			err = s.dispatchObject(j.ctx, j.obj, j.objID, j.method, dec, enc, j.locked)
		}
		if err == nil && enc.err != nil {
			failed = enc.err
		}
	}
	sess.running.Add(-1) // the reply is not out yet, but the call no longer runs (sequential.go)
	if j.rec != nil && len(j.rec.undo) > 0 {
		enc.undo = append(enc.undo, j.rec.undo...) // registered with Undo
	}
	var frame []byte
	if err == nil && failed == nil {
		frame = finishReply(enc.buf, j.reqID, enc.refs)
		if n := len(frame) - wire.HeaderSize; n > limit {
			// The client would have to end the connection over it; fail this call only.
			failed = callError(ErrFrameTooLarge, "the reply of %s is %d bytes, over the limit of %d (Options.MaxFrame); nothing it did was kept",
				j.describe(), n, limit)
		}
	}
	if err != nil && s.shutting.Load() && !errors.Is(err, ErrShutdown) &&
		(s.forced.Load() || (j.rec != nil && j.rec.stoppedByShutdown())) {
		// The shutdown ended the call (a wait at once, a running call at the drain's end).
		failed = callError(ErrShutdown, "%s was ended by the shutdown (%v)", j.describe(), err)
	}
	if failed != nil {
		runAll(enc.undo)
		enc.undo = nil
		err = failed
		if j.rec != nil {
			j.rec.taken = nil // the outcome is undone: never the caller's
		}
	}
	if err != nil {
		// The caller gets no handles. What the method registered with Undo stays with
		// its error (an ErrAbandoned still grants the lock).
		sess.dropRefs(enc.refs)
		enc.refs = nil
		frame = errorFrame(enc.buf[:replyReserve], j.reqID, err, limit)
	}
	if j.promise != nil {
		sess.keep(j.promise, enc.refs, err) // before the reply: calls pipelined on it may run
	}
	reading := j.rd != nil && j.rd.endInline()
	if reading && j.slow {
		j.rd.noteQueued() // sequential.go: before the reply goes out
	}
	if measured {
		hold.stop(&j, reading)
	}
	rec := j.rec
	handedOff := rec == nil && j.rd != nil && !reading // overrun may have registered it
	var taken []func()
	if rec != nil || handedOff || len(enc.undo) > 0 {
		var reserved bool
		if rec, reserved, taken = sess.finish(j.reqID, rec, handedOff, enc); reserved {
			if err != nil {
				frame[wire.HeaderSize] = wire.KindReservedError
			} else {
				frame[wire.HeaderSize] = wire.KindReserved
			}
		}
	}
	if reading && j.rd.r.Buffered() > 0 {
		err = sess.w.WriteFrameBuffered(frame) // the reader flushes before it waits (reader.go)
	} else {
		err = sess.w.WriteFrame(frame)
	}
	if err != nil {
		// The peer is gone or stopped reading (the write stalled for a lease); the
		// writer fails every later reply too, so end the session: closing the
		// connection ends the read loop, which ends (or detaches) the session.
		sess.closeConn()
	}
	runAll(taken) // OnTaken: the reply went out plain
	if rec != nil {
		// Only now: a Cancel that finds no call knows its reply went first.
		sess.cmu.Lock()
		delete(sess.calls, j.reqID)
		sess.cmu.Unlock()
		rec.end()
	}
}

// finish decides, before the reply of a successful or failed call is written, what
// becomes of the call's outcome (calls.go): it is reserved when the call was cancelled
// while it ran, and undone at once when the session has ended. It returns the call's
// registration — rec, or for a call whose reader was handed on (handedOff) the one
// overrun made, if any — whether the reply goes out reserved, and what to run once a
// plain reply is written (OnTaken; a reserved one's runs on Accept). A client that never
// settles its reservations gets plain replies past maxSessionCalls of them, so they
// cannot grow without bound.
func (sess *session) finish(reqID uint64, rec *callRec, handedOff bool, enc *Encoder) (_ *callRec, reserved bool, taken []func()) {
	sess.cmu.Lock()
	if handedOff {
		rec = sess.calls[reqID]
	}
	if rec != nil {
		rec.finishing = true
	}
	keep := len(enc.undo) > 0 || len(enc.refs) > 0
	gone := sess.gone
	if rec != nil {
		taken = rec.taken
	}
	if keep && !gone && rec != nil && rec.cancelled && len(sess.reserved) < maxSessionCalls {
		sess.reserved[reqID] = reservation{undo: enc.undo, refs: enc.refs, taken: taken}
		reserved, taken = true, nil
	}
	sess.cmu.Unlock()
	if gone {
		runAll(enc.undo) // nobody is left to take the outcome
		taken = nil
	}
	return rec, reserved, taken
}

// replyLimit is the largest reply the session's client reads.
func (sess *session) replyLimit() int {
	limit := sess.srv.opts.maxFrame()
	if p := int(sess.peerMax.Load()); p > 0 && p < limit {
		limit = p
	}
	return limit
}

// describe names the call's method for errors.
func (j *callJob) describe() string {
	if j.objID == wire.ControlObject {
		return controlName(j.method)
	}
	if j.obj != nil && j.method < uint64(len(j.obj.desc.Methods)) {
		return j.obj.desc.TypeID + "." + j.obj.desc.Methods[j.method].Name
	}
	return fmt.Sprintf("method %d of object #%d", j.method, j.objID)
}

// callScratch is what running one call needs besides its job: the Encoder of its reply
// (whose buffer it keeps from call to call) and the Decoder of its arguments. The
// dispatch functions take both by pointer, through tables the compiler cannot see into,
// so on runCall's stack they would escape: two allocations per call. Pooled per Server.
type callScratch struct {
	enc Encoder
	dec Decoder
}

func (s *Server) getScratch() *callScratch {
	if sc, ok := s.scratch.Get().(*callScratch); ok {
		return sc
	}
	return &callScratch{enc: Encoder{buf: make([]byte, 0, 512)}}
}

// putScratch recycles sc, keeping its reply buffer unless it grew large, and nothing
// else: the call's references, undo list and arguments are not the next call's.
func (s *Server) putScratch(sc *callScratch) {
	buf := sc.enc.buf[:0]
	if cap(buf) > 64<<10 {
		buf = nil
	}
	sc.enc = Encoder{buf: buf}
	sc.dec = Decoder{}
	s.scratch.Put(sc)
}

// finishReply writes the reply header — kind, request ID, and the IDs of the references
// the reply counted for the session — right-aligned into the reserved space of buf. A
// client that gave up on the call drops those references when the reply comes late.
func finishReply(buf []byte, reqID uint64, refs []uint64) []byte {
	var hdr [replyReserve]byte
	h := append(hdr[:wire.HeaderSize], wire.KindReply)
	h = binary.AppendUvarint(h, reqID)
	h = binary.AppendUvarint(h, uint64(len(refs)))
	for _, id := range refs {
		if len(h)+binary.MaxVarintLen64 > len(hdr) {
			return finishLongReply(buf, h, refs)
		}
		h = binary.AppendUvarint(h, id)
	}
	start := replyReserve - len(h)
	frame := buf[start:]
	copy(frame, h)
	wire.PutHeader(frame, len(frame)-wire.HeaderSize)
	return frame
}

// finishLongReply is finishReply for a list of references too long for the reserved
// room (a method returning several proxies): h is the header up to the list's length. It
// copies the reply into a new slice — never into finishReply's array, which would then
// escape and cost every reply an allocation.
func finishLongReply(buf, h []byte, refs []uint64) []byte {
	frame := make([]byte, 0, len(h)+len(refs)*binary.MaxVarintLen64+len(buf)-replyReserve)
	frame = append(frame, h...)
	for _, id := range refs {
		frame = binary.AppendUvarint(frame, id)
	}
	frame = append(frame, buf[replyReserve:]...)
	wire.PutHeader(frame, len(frame)-wire.HeaderSize)
	return frame
}

// dropRefs undoes references counted for the session by a reply that became an error.
func (sess *session) dropRefs(ids []uint64) {
	if len(ids) == 0 || sess.id == 0 {
		return
	}
	s := sess.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if obj := s.objects[id]; obj != nil {
			_ = s.decrefLocked(obj, sess) // a session that ended has dropped them already
		}
	}
}

// errorFrame writes an error reply, cutting its message and stack so the frame stays
// within limit.
func errorFrame(buf []byte, reqID uint64, err error, limit int) []byte {
	e := frameEncoder(buf, wire.KindError)
	e.Uint64(reqID)
	stack := ""
	var re *RemoteError
	if errors.As(err, &re) {
		stack = re.Stack
	}
	msg, name := err.Error(), sentinelName(err)
	room := limit - 64 - len(name) // kind, ID, three lengths, with margin
	msg = cut(msg, room/2+max(0, room/2-len(stack)))
	stack = cut(stack, room-len(msg))
	e.String(msg)
	e.String(name)
	e.String(stack)
	return e.frame()
}

// cut shortens s to at most n bytes (none if n < 0), saying that it did.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const more = " [cut]"
	if n < len(more) {
		return ""
	}
	return s[:n-len(more)] + more
}

// dispatch runs one call: a control method of the manager or an exposed method.
func (s *Server) dispatch(ctx context.Context, sess *session, objID, method uint64, args *Decoder, res *Encoder) (err error) {
	if objID == wire.ControlObject {
		return s.control(ctx, sess, method, args, res)
	}
	return s.dispatchObject(ctx, s.lookup(objID), objID, method, args, res, false)
}

// dispatchObject runs method of obj, the object the table held under objID when the
// call was read (nil if none). locked says the caller holds obj.mu already (only for a
// valid method of a Serialized type); it is released here.
func (s *Server) dispatchObject(ctx context.Context, obj *object, objID, method uint64, args *Decoder, res *Encoder, locked bool) (err error) {
	if obj == nil {
		return callError(ErrUnknownObject, "object #%d does not exist (released, or never created)", objID)
	}
	desc := obj.desc
	if method >= uint64(len(desc.Methods)) {
		return callError(ErrUnknownMethod, "%s has no method #%d (it has %d: %s); clients name methods by their index in the manager's table, learnt by name (CtlMethods)",
			desc.TypeID, method, len(desc.Methods), methodNames(desc.TypeDesc))
	}
	m := &desc.Methods[method]
	if desc.Serialized {
		if !locked {
			obj.mu.Lock()
		}
		defer obj.mu.Unlock()
	}
	defer func() {
		if p := recover(); p != nil {
			err = &RemoteError{
				Msg:      fmt.Sprintf("%s.%s panicked%s: %v", desc.TypeID, m.Name, panicSite(), p),
				Sentinel: ErrPanic,
				Stack:    string(debug.Stack()),
			}
		}
	}()
	if len(s.opts.ServerInterceptors) > 0 {
		return s.interceptedCall(ctx, obj, objID, m, args, res) // interceptor.go
	}
	return m.Call(ctx, obj.value, args, res)
}

func methodNames(desc *TypeDesc) string {
	names := make([]string, len(desc.Methods))
	for i, m := range desc.Methods {
		names[i] = m.Name
	}
	return listNames(names)
}

// control runs a method of the manager itself.
