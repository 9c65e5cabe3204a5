package mgr

import "context"

// Commit tells the manager that the method running under ctx is about to do something
// it cannot undo with Undo — put an item into a queue, say — and asks whether it still
// may. It returns an error, and the method should then do nothing and return it, when
// the call has been cancelled: its ctx ended, or a Cancel reached it (which the manager
// acknowledges before the ctx ends). After it returns nil, a Cancel no longer stops the
// call: the caller waits for the reply, so what the method does next is never done
// while its caller is told it was cancelled.
//
// Without it, a method that does something irreversible after its call was cancelled
// loses the truth about it: the client gives up on a cancelled call once the manager
// has acknowledged the Cancel and the grace has passed (Options.CancelGrace; a loaded
// manager can read the Cancel after the grace), and a reply that comes after that is
// dropped, its Undo run — a Put has none. Call it right before the step, and not under
// a lock other sessions' calls take (it takes this call's session lock, which a Cancel
// holds while it writes its acknowledgement); after it the method may still fail or
// wait (with its ctx, which a Cancel still ends): whatever it replies, its caller
// hears. Outside a manager call it reports ctx.Err().
func Commit(ctx context.Context) error {
	r, ok := ctx.Value(callRecKey{}).(*callRec)
	if !ok {
		return ctx.Err()
	}
	r.sess.cmu.Lock()
	defer r.sess.cmu.Unlock()
	if r.cancelled {
		// Acknowledged: the client may give up on the call as soon as it reads the
		// acknowledgement, even before the ctx ends here (cancelCall ends it after).
		return context.Canceled
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// The reply is as good as written: a Cancel now gets no acknowledgement, and the
	// client waits for the reply (calls.go).
	r.finishing = true
	return nil
}
