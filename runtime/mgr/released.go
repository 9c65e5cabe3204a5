package mgr

// Releaser is implemented by an exposed type that holds something outside the Go heap
// — a file descriptor, a mapping, a child process — which must go when the object goes.
// The manager calls Released once, in a goroutine of its own, after the object has left
// its table: its last reference was dropped (by Close, or because every session that held
// one ended, however it ended) and no token for it is pending. Named objects are never
// removed, so they are never released. Objects still in the table when the manager shuts
// down are not released either: a child-process manager exits, which frees everything;
// an in-process one should not rely on Released at shutdown.
//
// Released is not an exposed method: mgrgen must not expose it (hide it with
// hide=Released or leave it out of methods=).
type Releaser interface {
	Released()
}

// releaseRemoved runs v's Released, if it has one, outside the table's lock: no user
// code runs under it.
func releaseRemoved(v any) {
	if r, ok := v.(Releaser); ok {
		go r.Released()
	}
}
