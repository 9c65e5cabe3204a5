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
