package mgr

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Interceptors.
//
// An Interceptor wraps every method call of exposed objects, like gRPC's unary
// interceptors: on a client (Options.ClientInterceptors) around sending the call and
// waiting for its reply; in a manager (Options.ServerInterceptors, Server.Intercept)
// around running the method. The manager's own control methods (create, release, info,
// …) are not intercepted. With none set a call costs what it did before: one length
// check on each side.
//
// Interceptors measure what they want themselves (time.Since around invoke gives the
// call's duration; invoke's error is the call's). Calls from proxies the manager holds
// itself (proxies stored inside shared objects) go straight to the method on the manager
// side and see only the server interceptors.

// CallInfo describes one method call to an Interceptor.
type CallInfo struct {
	// TypeID is the object's type, Method the method's name.
	TypeID string
	Method string
	// Object is the object's ID in the manager.
	Object uint64
	// Session is the calling session's ID in the manager (on a client: its own; 0 for
	// calls the manager makes itself).
	Session uint64
	// Meta is opaque bytes carried in the call's frame, for trace context and the like. A
	// client interceptor may set it before calling invoke (at most MaxCallMeta bytes); a
	// server interceptor finds there what the client sent (nil for nothing). A call
	// without Meta is sent exactly as without interceptors.
	Meta []byte
}

// MaxCallMeta bounds CallInfo.Meta.
const MaxCallMeta = 16 << 10

// Interceptor wraps one method call: it must call invoke at most once, with ctx or a ctx
// derived from it, and return invoke's error or one of its own. On the manager, the ctx
// an interceptor passes to invoke is the one the method gets (a span put there by an
// OpenTelemetry interceptor is the method's parent). A client interceptor that returns
// without calling invoke fails the call with its error (nil is taken as "not sent":
// ErrIntercepted).
type Interceptor func(ctx context.Context, info *CallInfo, invoke func(ctx context.Context) error) error

// ErrIntercepted is the error of a call whose client interceptor returned nil without
// calling invoke.
var ErrIntercepted = fmt.Errorf("mgr: the call was not sent: an interceptor returned without invoking it")

// Intercept adds interceptors around every method call this manager runs, after those of
// Options.ServerInterceptors (the first given is the outermost). Call it before the
// manager serves: from an Initializer, which is how a child-process manager (Start),
// whose Options cannot carry funcs across, gets its interceptors.
func (s *Server) Intercept(interceptors ...Interceptor) {
	s.opts.ServerInterceptors = append(s.opts.ServerInterceptors[:len(s.opts.ServerInterceptors):len(s.opts.ServerInterceptors)], interceptors...)
}

// chain runs invoke behind interceptors, the first outermost.
func chain(ctx context.Context, info *CallInfo, interceptors []Interceptor, invoke func(context.Context) error) error {
	switch len(interceptors) {
	case 0:
		return invoke(ctx)
	case 1: // the usual case: no closure for the rest of the chain
		return interceptors[0](ctx, info, invoke)
	}
	return interceptors[0](ctx, info, func(ctx context.Context) error {
		return chain(ctx, info, interceptors[1:], invoke)
	})
}

// interceptedCall runs a method of an object behind the manager's interceptors
// (dispatchObject calls it only when there are some). The arguments' decoder carries the
// call's metadata.
func (s *Server) interceptedCall(ctx context.Context, obj *object, objID uint64, m *Method, args *Decoder, res *Encoder) error {
	info := &CallInfo{TypeID: obj.desc.TypeID, Method: m.Name, Object: objID, Session: CallerOf(ctx).ID(), Meta: args.meta}
	return chain(ctx, info, s.opts.ServerInterceptors, func(ctx context.Context) error {
		return m.Call(ctx, obj.value, args, res)
	})
}

// doIntercepted sends a client call behind the client's interceptors (Do calls it only
// when there are some). Meta set by an interceptor goes in front of the arguments, and
// the call is sent as a CallMeta frame.
func (c *Call) doIntercepted(ctx context.Context, cl *Client) error {
	info := &CallInfo{TypeID: c.h.typeID, Object: c.h.objID(), Session: cl.sessionID.Load()}
	info.Method = c.methodName()
	invoked := false
	err := chain(ctx, info, cl.opts.ClientInterceptors, func(ctx context.Context) error {
		if invoked {
			return fmt.Errorf("mgr: an interceptor invoked %s twice", c.describe())
		}
		invoked = true
		if len(info.Meta) > 0 {
			if len(info.Meta) > MaxCallMeta {
				return fmt.Errorf("mgr: call metadata of %d bytes, over MaxCallMeta (%d)", len(info.Meta), MaxCallMeta)
			}
			c.withMeta(info.Meta)
		}
		return cl.call(ctx, c)
	})
	if !invoked && err == nil {
		err = ErrIntercepted
	}
	return err
}

// withMeta puts meta in front of the encoded arguments and marks the call to go out as a
// CallMeta frame (Client.call writes the kind).
func (c *Call) withMeta(meta []byte) {
	args := c.Args.buf[reservedHeader:]
	e := Encoder{buf: make([]byte, reservedHeader, reservedHeader+len(meta)+len(args)+binaryMaxUvarint)}
	e.ByteSlice(meta)
	c.Args.buf = append(e.buf, args...)
	c.meta = true
}

const binaryMaxUvarint = 10

// methodName names the call's method for interceptors.
func (c *Call) methodName() string {
	if c.method < 0 {
		return c.name
	}
	if d := LookupType(c.h.typeID); d != nil && c.method < len(d.Methods) {
		return d.Methods[c.method].Name
	}
	return fmt.Sprintf("#%d", c.method)
}

// intercepts reports whether a client call goes through interceptors: calls of exposed
// methods on a client that has some.
func (c *Call) intercepts() (*Client, bool) {
	cl := c.conn
	return cl, cl != nil && len(cl.opts.ClientInterceptors) > 0 && !c.h.isControl()
}

// slowCallInterceptor logs calls that take longer than limit (Options.SlowCall) at Warn.
func slowCallInterceptor(o *Options, side string) Interceptor {
	limit := o.SlowCall
	return func(ctx context.Context, info *CallInfo, invoke func(context.Context) error) error {
		start := time.Now()
		err := invoke(ctx)
		if d := time.Since(start); d > limit {
			attrs := []slog.Attr{slog.String("side", side), slog.String(LogTypeID, info.TypeID), slog.Uint64(LogObject, info.Object),
				slog.String(LogMethod, info.Method), slog.Uint64(LogSession, info.Session), slog.Duration("duration", d)}
			if err != nil {
				attrs = append(attrs, slog.Any(LogErr, err))
			}
			o.logAt(slog.LevelWarn, "mgr: slow call", attrs...)
		}
		return err
	}
}

// withSlowCall returns the options with the slow-call logger in front of the
// interceptors of both sides, when SlowCall and a logger are set.
func withSlowCall(o Options) Options {
	if o.SlowCall <= 0 || o.log() == nil {
		return o
	}
	o.ClientInterceptors = append([]Interceptor{slowCallInterceptor(&o, "client")}, o.ClientInterceptors...)
	o.ServerInterceptors = append([]Interceptor{slowCallInterceptor(&o, "manager")}, o.ServerInterceptors...)
	return o
}
