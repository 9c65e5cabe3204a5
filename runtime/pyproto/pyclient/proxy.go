package pyclient

import (
	"context"
	"sync"

	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
)

// Proxy is a reference to a shared object in a CPython manager.
type Proxy struct {
	c       *Client
	token   pickle.Token
	exposed []string

	mu       sync.Mutex
	released bool
}

// Token returns the object's token.
func (p *Proxy) Token() pickle.Token { return p.token }

// Exposed returns the method names the server exposes for the object.
func (p *Proxy) Exposed() []string { return append([]string(nil), p.exposed...) }

// Call calls method with positional arguments and returns its decoded result (a
// *Proxy when the server makes the result a shared object).
func (p *Proxy) Call(ctx context.Context, method string, args ...any) (any, error) {
	return p.CallKw(ctx, method, args, nil)
}

// CallKw is Call with keyword arguments.
func (p *Proxy) CallKw(ctx context.Context, method string, args []any, kwds map[string]any) (any, error) {
	if p.isReleased() {
		return nil, ErrReleased
	}
	return p.c.call(ctx, p.token.ID, method, args, kwds)
}

// GetValue returns a copy of the referent ('#GETVALUE', Python's _getvalue()).
func (p *Proxy) GetValue(ctx context.Context) (any, error) { return p.Call(ctx, "#GETVALUE") }

// Repr returns repr() of the referent, as str(proxy) does in Python.
func (p *Proxy) Repr(ctx context.Context) (string, error) {
	v, err := p.Call(ctx, "__repr__")
	s, _ := v.(string)
	return s, err
}

// Release drops the proxy's reference (decref); the manager deletes the object when no
// reference is left. Calls after Release fail with ErrReleased; Release again is a
// no-op.
func (p *Proxy) Release(ctx context.Context) error {
	p.mu.Lock()
	if p.released {
		p.mu.Unlock()
		return nil
	}
	p.released = true
	p.mu.Unlock()
	p.c.mu.Lock()
	delete(p.c.live, p)
	p.c.mu.Unlock()
	_, err := p.c.control(ctx, "decref", p.token.ID)
	return err
}

func (p *Proxy) isReleased() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.released
}

// stockProxyClass is the proxy class CPython's SyncManager registers for each stock
// typeid (others are AutoProxy).
var stockProxyClass = map[string]string{
	"list": "ListProxy", "dict": "DictProxy", "Lock": "AcquirerProxy", "RLock": "AcquirerProxy",
	"Semaphore": "AcquirerProxy", "BoundedSemaphore": "AcquirerProxy", "Condition": "ConditionProxy",
	"Event": "EventProxy", "Barrier": "BarrierProxy", "Namespace": "NamespaceProxy",
	"Value": "ValueProxy", "Array": "ArrayProxy", "Pool": "PoolProxy", "Iterator": "IteratorProxy",
}

// PickleValue makes a proxy passed as an argument pickle as CPython's own
// (RebuildProxy(class, token, 'pickle', kwds)), so the server stores a proxy to it.
func (p *Proxy) PickleValue() any {
	cls, ok := stockProxyClass[p.token.TypeID]
	kw := pickle.NewDict()
	if !ok {
		cls = "AutoProxy"
		ex := make([]any, len(p.exposed))
		for i, s := range p.exposed {
			ex[i] = s
		}
		kw.Set("exposed", pickle.MustTuple(ex...))
	}
	return &pickle.Proxy{Module: "multiprocessing.managers", Class: cls, Token: p.token, Serializer: "pickle", Kwds: kw}
}
