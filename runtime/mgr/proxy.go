package mgr

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"sync/atomic"
)

// Handle is one reference to an object in a manager, owned by this process's session
// with that manager. Every proxy holds exactly one Handle; Close drops the reference.
type Handle struct {
	owner    handleOwner
	id       uint64
	typeID   string
	released atomic.Bool
	// cleanup releases the reference if the Handle is garbage collected unreleased: a
	// backstop for proxies dropped without Close, never the main mechanism.
	cleanup runtime.Cleanup
	// bind maps the type's methods to the manager's, once known (client_bind.go).
	bind atomic.Pointer[binding]
	// sess is the client's session the reference belongs to (Client.sessGen): after a
	// manager restart the client has another, and the reference names nothing.
	sess uint64
	// pipe is set for a Handle made by CreatePipelined: the create's outcome, which
	// gives the object's ID once answered; id stays 0 (client_pipe.go).
	pipe *pipeRes
}

// handleOwner is what a Handle calls through: a connection to a manager (client side) or
// the manager itself (a proxy stored inside another shared object).
type handleOwner interface {
	call(ctx context.Context, c *Call) error
	newCall(h *Handle, method int) *Call
	release(ctx context.Context, h *Handle) error
	token(ctx context.Context, h *Handle) (Token, error)
	describe() string
}

// ID returns the object's ID in its manager. For a Handle made by CreatePipelined it
// waits for the create's reply (Ready), and is 0 if the create failed.
func (h *Handle) ID() uint64 {
	if h.pipe != nil {
		_ = h.Ready(context.Background())
		return h.objID()
	}
	return h.id
}

// TypeID returns the object's registered type.
func (h *Handle) TypeID() string { return h.typeID }

// Proxy is implemented by every generated proxy (through the embedded ProxyBase).
type Proxy interface {
	mgrBase() *ProxyBase
}

// ProxyBase is embedded in every generated proxy. It holds the reference and gives every
// proxy Close, Token, ObjectID and String. Copying a proxy copies the reference's
// pointer, not the reference: both copies share one Close.
type ProxyBase struct {
	h *Handle
}

// MakeProxyBase returns a ProxyBase over h, for generated code.
func MakeProxyBase(h *Handle) ProxyBase { return ProxyBase{h: h} }

func (p *ProxyBase) mgrBase() *ProxyBase { return p }

// Handle returns the proxy's reference.
func (p *ProxyBase) Handle() *Handle { return p.h }

// ObjectID returns the referent's ID in its manager (see Handle.ID).
func (p *ProxyBase) ObjectID() uint64 { return p.h.ID() }

// Close drops the proxy's reference (Python's decref when a proxy is collected). The
// object is removed when no reference is left. Close is idempotent; calls through a
// closed proxy fail with ErrReleased. The name is Close, not Release, so that shared
// types keep Python's acquire/release: LockProxy.Release unlocks.
func (p *ProxyBase) Close(ctx context.Context) error {
	if p == nil || p.h == nil {
		return nil
	}
	if !p.h.released.CompareAndSwap(false, true) {
		return nil
	}
	p.h.cleanup.Stop()
	return p.h.owner.release(ctx, p.h)
}

// Token returns a token another process can attach to (see Client.Attach). The manager
// holds a reference for the token from this call until it is attached or expires, so the
// hand-over cannot race with this proxy's Close. A token attaches once.
func (p *ProxyBase) Token(ctx context.Context) (Token, error) {
	if p.h.released.Load() {
		return Token{}, fmt.Errorf("%w: %s#%d", ErrReleased, p.h.typeID, p.h.objID())
	}
	return p.h.owner.token(ctx, p.h)
}

// String describes the proxy (not the referent): type, object ID and manager.
func (p *ProxyBase) String() string {
	if p == nil || p.h == nil {
		return "<nil proxy>"
	}
	if pr := p.h.pipe; pr != nil && p.h.objID() == 0 {
		return fmt.Sprintf("<%s proxy, created by request %d, at %s>", p.h.typeID, pr.reqID, p.h.owner.describe())
	}
	return fmt.Sprintf("<%s proxy #%d at %s>", p.h.typeID, p.h.objID(), p.h.owner.describe())
}

// Begin starts a call of method (an index into the type's dispatch table) and returns it
// for the caller to encode arguments into Args. Generated code calls Begin, encodes,
// calls Do, decodes results from the returned Decoder and calls End.
func (p *ProxyBase) Begin(method int) *Call {
	return p.h.owner.newCall(p.h, method)
}

// HandleOf returns the Handle of proxy p, or nil if p is nil; generated code uses it to
// encode proxy arguments.
func HandleOf[P any, PP interface {
	*P
	Proxy
}](p PP) *Handle {
	if p == nil {
		return nil
	}
	return p.mgrBase().h
}

var proxyInterface = reflect.TypeFor[Proxy]()

// isProxyType reports whether t is a pointer to a generated proxy struct.
func isProxyType(t reflect.Type) bool {
	return t.Kind() == reflect.Pointer && t.Implements(proxyInterface)
}

func encodeProxy(e *Encoder, v reflect.Value) {
	if v.IsNil() {
		e.Ref(nil)
		return
	}
	e.Ref(v.Interface().(Proxy).mgrBase().h)
}

func decodeProxy(d *Decoder, v reflect.Value) {
	h := d.Handle()
	if h == nil {
		v.SetZero()
		return
	}
	p := reflect.New(v.Type().Elem())
	p.Interface().(Proxy).mgrBase().h = h
	v.Set(p)
}

// BeginMethod starts a call of the exposed method called name: the dynamic counterpart
// of the generated methods, for tools and interop (Python's _callmethod). It binds by
// name like every call: the manager's method of that name runs, or the call fails with
// ErrUnknownMethod (or ErrSignature, when this process registered the type with another
// signature for it). The type need not be registered in this process; the arguments and
// results are then the caller's to encode and decode right.
func (p *ProxyBase) BeginMethod(name string) (*Call, error) {
	if desc := LookupType(p.h.typeID); desc != nil {
		if i := desc.MethodIndex(name); i >= 0 {
			return p.Begin(i), nil // bound with its signature
		}
		// Not in this process's version of the type: the manager's may have it.
	}
	c := p.Begin(-1)
	c.name = name
	return c, nil
}
