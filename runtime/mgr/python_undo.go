package mgr

import "context"

// pyUndo collects what a CPython client's call registers with Undo (a Queue.get's item,
// say), so that the manager can put it back when the reply never reaches the client: its
// value cannot be pickled (a Go value Python has no form for: a Go struct, an
// OpaqueValue) or the connection broke while it was written. The calls of one connection
// run one after another in its serveCalls goroutine, so one pyUndo per connection,
// emptied before each call, serves them all without an allocation per call.
type pyUndo struct{ fns []func() }

type pyUndoKey struct{}

// pyUndoOf is the collector of a CPython client's call running under ctx, if it is one.
func pyUndoOf(ctx context.Context) *pyUndo {
	u, _ := ctx.Value(pyUndoKey{}).(*pyUndo)
	return u
}

// take returns what was registered and empties the collector.
func (u *pyUndo) take() []func() {
	fns := u.fns
	u.fns = u.fns[:0]
	return fns
}
