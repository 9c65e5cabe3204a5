package mgr

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/mgr-go/mgr/internal/wire"
)

// Binding methods by name. A call names its method by its index in the manager's dispatch
// table, which is cheap, but two programs built from different versions of a type would
// disagree about the indexes: a client built with Counter{Decrement, Increment, Value}
// calling Increment (its #1) would run the manager's Value (#1 of {Increment, Value}).
// So a client learns each type's table from the manager once per session (CtlMethods),
// maps its own methods to it by name, and checks that the signatures agree. The result
// is cached on every Handle: after the first call through a proxy, a call costs one
// slice index.

// binding maps one type's methods, as this process knows them, to the manager's.
type binding struct {
	typeID string
	remote []uint64 // by this process's method index: the manager's index
	errs   []error  // by this process's method index: why it cannot be called, or nil
	byName map[string]uint64
	names  []string // the manager's methods, in its order
}

// bindEntry is a binding being fetched or fetched.
type bindEntry struct {
	ready chan struct{} // closed when b or err is set
	b     *binding
	err   error
}

type bindings struct {
	mu     sync.Mutex
	byType map[string]*bindEntry
}

// bindingFor returns the binding of typeID, fetching it once per session. A failed
// fetch (ctx ended, unknown type) is not kept: the next call asks again.
func (c *Client) bindingFor(ctx context.Context, typeID string) (*binding, error) {
	bs := &c.binds
	for {
		bs.mu.Lock()
		if bs.byType == nil {
			bs.byType = map[string]*bindEntry{}
		}
		e := bs.byType[typeID]
		if e == nil {
			e = &bindEntry{ready: make(chan struct{})}
			bs.byType[typeID] = e
			bs.mu.Unlock()
			e.b, e.err = c.fetchBinding(ctx, typeID)
			if e.err != nil {
				bs.mu.Lock()
				delete(bs.byType, typeID)
				bs.mu.Unlock()
			}
			close(e.ready)
			return e.b, e.err
		}
		bs.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err == nil {
			return e.b, nil
		}
		// The fetch failed for its caller — its ctx may have ended sooner than ours:
		// ask again, with ours.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// fetchBinding asks the manager for typeID's table and maps this process's methods to it.
func (c *Client) fetchBinding(ctx context.Context, typeID string) (*binding, error) {
	var names, sigs []string
	err := c.control(ctx, wire.CtlMethods, func(e *Encoder) { e.String(typeID) }, func(d *Decoder) {
		n := d.Len(2)
		for range n {
			names = append(names, d.String())
			sigs = append(sigs, d.String())
		}
	})
	if err != nil {
		return nil, err
	}
	b := &binding{typeID: typeID, names: names, byName: make(map[string]uint64, len(names))}
	for i, name := range names {
		b.byName[name] = uint64(i)
	}
	local := LookupType(typeID)
	if local == nil {
		return b, nil // calls by name only (BeginMethod)
	}
	b.remote = make([]uint64, len(local.Methods))
	b.errs = make([]error, len(local.Methods))
	for i, m := range local.Methods {
		j, ok := b.byName[m.Name]
		switch {
		case !ok:
			b.errs[i] = callError(ErrUnknownMethod, "%s.%s: the manager's %s has no method %s (it has %s): the manager was built from another version of the type",
				typeID, m.Name, typeID, m.Name, listNames(names))
		case m.Sig != "" && sigs[j] != "" && m.Sig != sigs[j]:
			b.errs[i] = callError(ErrSignature, "%s.%s: the manager has %s, this program %s: the two were built from different versions of the type",
				typeID, m.Name, sigs[j], m.Sig)
		default:
			b.remote[i] = j
		}
	}
	return b, nil
}

// remoteMethod returns the manager's index for call's method, binding call's type first
// if its Handle has not been bound yet.
func (c *Client) remoteMethod(ctx context.Context, call *Call) (uint64, error) {
	h := call.h
	b := h.bind.Load()
	if b == nil {
		var err error
		if b, err = c.bindingFor(ctx, h.typeID); err != nil {
			return 0, fmt.Errorf("%s: learning the manager's methods of %s: %w", call.describe(), h.typeID, err)
		}
		h.bind.Store(b)
	}
	if call.method < 0 { // by name (BeginMethod of a type this process has not registered)
		j, ok := b.byName[call.name]
		if !ok {
			return 0, callError(ErrUnknownMethod, "%s has no exposed method %s (it has %s)", h.typeID, call.name, listNames(b.names))
		}
		return j, nil
	}
	if call.method >= len(b.remote) {
		return 0, callError(ErrUnknownMethod, "%s has no method #%d in this process's table", h.typeID, call.method)
	}
	if err := b.errs[call.method]; err != nil {
		return 0, err
	}
	return b.remote[call.method], nil
}

func listNames(names []string) string {
	if len(names) == 0 {
		return "no methods"
	}
	return strings.Join(names, ", ")
}
