package mgr

import "context"

// serverKey carries the manager in the context every call and constructor runs with.
type serverKey struct{}

// ServerOf returns the manager that runs a constructor or a method, from the ctx the
// runtime passes it; nil for a ctx that did not come from a manager. Shared types use it
// to reach their per-manager state (Server.Local).
func ServerOf(ctx context.Context) *Server {
	s, _ := ctx.Value(serverKey{}).(*Server)
	return s
}

// Local returns this manager's value under key, made by mk on the first call with that
// key: per-manager state of a shared type — a pool of resources, a setting an
// Initializer gave — which lives as long as the manager (watch Done to free what it
// holds when the manager shuts down). key follows context.WithValue's rule: a comparable
// value of an unexported type of the package that owns the state. mk runs once per key,
// under a lock of its own: it must not call Local.
func (s *Server) Local(key any, mk func() any) any {
	s.localMu.Lock()
	defer s.localMu.Unlock()
	v, ok := s.locals[key]
	if !ok {
		if s.locals == nil {
			s.locals = map[any]any{}
		}
		v = mk()
		s.locals[key] = v
	}
	return v
}
