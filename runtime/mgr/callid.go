package mgr

import "context"

// CallID returns the request ID of the client call a method runs for, from the ctx the
// runtime passes to the method, or 0 outside one (an inline call, a call by the manager
// itself, a CPython client's). A client numbers its calls from 1 and never reuses a
// number, even across the sessions it starts after its manager restarted or died: with
// the session it names a call, as Adopter.Adopt's untaken list does. A backend records it
// beside what a call hands out, to tell at an adoption whether the client got it.
func CallID(ctx context.Context) uint64 {
	if r, ok := ctx.Value(callRecKey{}).(*callRec); ok {
		return r.id
	}
	return 0
}

// OnTaken registers fn to run once the outcome of the method running under ctx is its
// caller's: after its reply is written, or — for a reply that went out reserved, its
// caller having cancelled meanwhile (see Undo) — when the client accepts it. It never
// runs when the outcome is undone instead (the functions registered with Undo run). A
// method that hands out something held until its taker acknowledges it (an etcd queue's
// claimed item) counts it as delivered here, not when it returns. Call it from the
// method's own goroutine; under a ctx that is not of a manager call that can be
// reserved (an inline call's, a CPython client's), fn runs at once.
func OnTaken(ctx context.Context, fn func()) {
	if r, ok := ctx.Value(callRecKey{}).(*callRec); ok {
		r.taken = append(r.taken, fn)
		return
	}
	fn()
}
