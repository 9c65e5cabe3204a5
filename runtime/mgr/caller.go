package mgr

import (
	"context"
	"log/slog"
)

// Caller identifies the client session a method runs for. Shared types use it for
// ownership (an RLock's owner is a session) and crash safety (Done closes when the
// session ends, however it ends).
type Caller struct {
	id   uint64
	done <-chan struct{}
	sess *session // nil for the manager itself
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

// Logger returns the manager's logger (Options.Logger) with the session's attributes
// (session, pid, program), for shared types to report what happens to a session's
// holdings: a lock abandoned when its holder's session ends. With no logger configured
// it discards everything.
func (c Caller) Logger() *slog.Logger {
	if c.sess == nil || c.sess.srv == nil {
		return slog.New(slog.DiscardHandler)
	}
	s := c.sess.srv
	l := s.opts.log()
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	s.mu.RLock()
	pid, program := c.sess.pid, c.sess.program
	s.mu.RUnlock()
	return l.With(slog.Uint64(LogSession, c.id), slog.Int(LogPID, pid), slog.String(LogProgram, program))
}

// PID returns the process ID the session's client gave when it connected (0 for the
// manager itself, or before the client said).
func (c Caller) PID() int {
	if c.sess == nil || c.sess.srv == nil {
		return 0
	}
	c.sess.srv.mu.RLock()
	defer c.sess.srv.mu.RUnlock()
	return c.sess.pid
}
