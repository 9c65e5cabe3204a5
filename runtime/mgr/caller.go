package mgr

import "context"

// Caller identifies the client session a method runs for. Shared types use it for
// ownership (an RLock's owner is a session) and crash safety (Done closes when the
// session ends, however it ends).
type Caller struct {
	id   uint64
	done <-chan struct{}
}

// ID returns the session's ID; 0 stands for the manager itself (a call made by a proxy
// stored inside another shared object, or with no session at all).
func (c Caller) ID() uint64 { return c.id }

// Done returns a channel that is closed when the session ends: clean close, crash,
// kill -9, or a lost connection. It is nil (never closes) for the manager itself.
func (c Caller) Done() <-chan struct{} { return c.done }

type callerKey struct{}

// CallerOf returns the session a method call runs for, from the ctx the runtime passes
// to the method.
func CallerOf(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

func withCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}
