package mgr

import (
	"context"

	"github.com/mgr-go/mgr/internal/wire"
)

// Calls a Cancel can reach, and outcomes the manager keeps until the client takes them.
//
// A client whose ctx ends sends Cancel and, to bound its wait for a method that ignores
// its ctx, may give up on the call. If the method had already done something by then —
// taken an item, granted a lock, counted a reference for the reply — and its reply
// arrived after the client gave up, the outcome would be lost. So the two sides agree
// on every cancelled call without a time window (protocol 3, internal/wire):
//
//   - The manager answers a Cancel naming a call it still runs with CancelAck, and notes
//     the call as cancelled. A Cancel for a call already answered gets nothing: the reply
//     is ahead of it on the connection, and the client waits for it.
//   - A cancelled call that succeeds anyway with something to undo (Undo, or references
//     in its reply) is answered with a Reserved reply, and the manager keeps the undo.
//     The client says Accept when its caller took the reply (the manager forgets the
//     undo) or Reject when its caller had given up (the manager runs it).
//   - The client gives up on a cancelled call only after its CancelAck (and
//     Options.CancelGrace). A session that ends with outcomes reserved gets them undone.
//   - A method about to do what no undo can take back (a Queue.Put) asks Commit first:
//     it refuses once the Cancel was acknowledged, and otherwise marks the call
//     finishing, so a later Cancel gets no acknowledgement and the client waits for the
//     reply.
//
// A call that has no ctx of its own (an inline call of a method without a
// context.Context) is not in session.calls while its reader runs it: the reader reads the
// Cancel only after the reply is written. If the watchdog hands the reader on while such
// a call runs, overrun registers it first.

// callRec is a call that a Cancel frame can reach: registered in session.calls under its
// request ID while it runs. It is the context of ctx-taking methods (Value finds it), so
// Undo and Blocking reach it.
type callRec struct {
	context.Context
	sess   *session
	id     uint64             // the call's request ID (CallID)
	cancel context.CancelFunc // nil for an inline call registered by overrun: it cannot be cancelled
	undo   []func()           // registered by the method (Undo), in its goroutine
	taken  []func()           // registered by the method (OnTaken), in its goroutine

	// Guarded by the session's cmu.
	cancelled bool // a Cancel named the call while it ran, and was acknowledged
	finishing bool // the reply is being written, or the method committed (Commit): a Cancel now has nothing to do
	blocked   bool // the method waits (Blocking): Shutdown ends it at once
	stopped   bool // Shutdown ended it
}

type callRecKey struct{}

// Value makes the record findable from the method's ctx.
func (r *callRec) Value(key any) any {
	if key == (callRecKey{}) {
		return r
	}
	return r.Context.Value(key)
}

// block notes that the method is about to wait (Blocking); during a shutdown it ends
// the call at once.
func (r *callRec) block() {
	r.sess.cmu.Lock()
	r.blocked = true
	shutting := r.sess.srv.shutting.Load() && r.cancel != nil
	r.stopped = r.stopped || shutting
	r.sess.cmu.Unlock()
	if shutting {
		r.cancel()
	}
}

// stoppedByShutdown reports whether Shutdown ended the call.
func (r *callRec) stoppedByShutdown() bool {
	r.sess.cmu.Lock()
	defer r.sess.cmu.Unlock()
	return r.stopped
}

// cancelBlocked ends the session's calls that wait (Shutdown).
func (sess *session) cancelBlocked() {
	sess.cmu.Lock()
	defer sess.cmu.Unlock()
	for _, r := range sess.calls {
		if r.blocked && r.cancel != nil {
			r.stopped = true
			r.cancel()
		}
	}
}

// reservation is the outcome of a cancelled call whose Reserved reply the client has not
// answered yet.
type reservation struct {
	undo  []func()
	refs  []uint64
	taken []func() // run if the client accepts (OnTaken)
}

// Undo registers fn to undo what the method running under ctx has done, should its caller
// never get the reply: the manager runs fn when the runtime fails the call after all (its
// result cannot be encoded, its reply is too large, the manager shut down), when the
// caller gave up on the call before its reply reached it, or when the session ends before
// the client took a reply reserved for it. A method that hands out something that must not
// be lost — an item taken from a queue, a lock granted — registers the undo once it has
// done so. The undo also stays with an error the method returns (an ErrAbandoned that
// still grants a lock); a method that fails having done nothing registers none. Call it
// from the method's own goroutine; elsewhere (a ctx not of a manager call) it does
// nothing.
func Undo(ctx context.Context, fn func()) {
	if r, ok := ctx.Value(callRecKey{}).(*callRec); ok {
		r.undo = append(r.undo, fn)
	} else if u := pyUndoOf(ctx); u != nil { // a CPython client's call (python_undo.go)
		u.fns = append(u.fns, fn)
	}
}

// runAll runs fns in order: a call's undos, or its OnTaken functions.
func runAll(fns []func()) {
	for _, fn := range fns {
		fn()
	}
}

// cancelCall handles a Cancel frame: it ends the call's ctx and, if the call still
// runs, acknowledges the cancellation, so the reply, if it succeeds, comes reserved.
func (sess *session) cancelCall(reqID uint64) {
	sess.cmu.Lock()
	rec := sess.calls[reqID]
	if rec == nil && !sess.seen.has(reqID) {
		// The Cancel overtook its call: after a resume, a caller may cancel on the new
		// connection before the call is sent there again. The call is cancelled when it
		// comes (precancelled).
		if sess.precancel == nil {
			sess.precancel = map[uint64]struct{}{}
		}
		if len(sess.precancel) < maxSessionCalls {
			sess.precancel[reqID] = struct{}{}
			sess.precancels.Add(1)
		}
	}
	if rec != nil && !rec.finishing && !rec.cancelled {
		rec.cancelled = true
		// Written under cmu so it goes ahead of the call's reply (runCall marks the call
		// finishing under cmu before it writes). A failed write is the connection's
		// break, which its reader handles; it is kept for a resume all the same.
		var b [wire.MaxUintFrame]byte
		_ = sess.w.WriteFrameBuffered(wire.AppendUintFrame(b[:0], wire.KindCancelAck, reqID))
	}
	sess.cmu.Unlock()
	if rec != nil && rec.cancel != nil {
		rec.cancel()
	}
}

// precancelled reports whether a Cancel for reqID came before the call did, forgetting
// it.
func (sess *session) precancelled(reqID uint64) bool {
	if sess.precancels.Load() == 0 {
		return false // the common case, without the lock
	}
	sess.cmu.Lock()
	defer sess.cmu.Unlock()
	_, ok := sess.precancel[reqID]
	if ok {
		delete(sess.precancel, reqID)
		sess.precancels.Add(-1)
	}
	return ok
}

// settle handles Accept and Reject: the client took a reserved outcome, or gave up on it.
func (sess *session) settle(reqID uint64, accept bool) {
	sess.cmu.Lock()
	r, ok := sess.reserved[reqID]
	delete(sess.reserved, reqID)
	sess.cmu.Unlock()
	if !ok {
		return
	}
	if accept {
		runAll(r.taken)
		return
	}
	runAll(r.undo)
	sess.dropRefs(r.refs)
}

// WithoutUndo returns ctx for running a method on something other than the object the
// manager serves — a scratch copy, say, whose outcome the caller stores elsewhere (the
// etcd backend runs syncmgr's methods on a copy and writes the result to etcd). Under it
// Undo registers nothing, since an undo would change only the copy, and Commit reports
// just ctx's own error: what the caller stores, and when, is the caller's to commit and
// to undo.
func WithoutUndo(ctx context.Context) context.Context { return withoutUndo{ctx} }

type withoutUndo struct{ context.Context }

func (c withoutUndo) Value(key any) any {
	switch key.(type) {
	case callRecKey, pyUndoKey:
		return nil
	}
	return c.Context.Value(key)
}
