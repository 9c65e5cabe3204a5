package syncmgr

import (
	"fmt"
	"maps"
	"sync"
)

// Namespace is a shared bag of named attributes (Python's SyncManager Namespace). Values
// are anything the codec carries inside an any: the basic types, []any, map[string]any
// and types registered with mgr.RegisterValue.
//
//mgr:expose typeid=syncmgr.Namespace concurrent inline
type Namespace struct {
	mu    sync.RWMutex
	attrs map[string]any
}

// NewNamespace returns an empty Namespace.
func NewNamespace() *Namespace { return &Namespace{attrs: map[string]any{}} }

// Get returns attribute name, or ErrNoAttribute (Python's AttributeError).
func (n *Namespace) Get(name string) (any, error) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	v, ok := n.attrs[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNoAttribute, name)
	}
	return v, nil
}

// Set sets attribute name.
func (n *Namespace) Set(name string, value any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.attrs[name] = value
}

// Delete removes attribute name, or fails with ErrNoAttribute.
func (n *Namespace) Delete(name string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.attrs[name]; !ok {
		return fmt.Errorf("%w: %q", ErrNoAttribute, name)
	}
	delete(n.attrs, name)
	return nil
}

// Has reports whether attribute name exists (Python's hasattr).
func (n *Namespace) Has(name string) bool {
	n.mu.RLock()
	defer n.mu.RUnlock()
	_, ok := n.attrs[name]
	return ok
}

// All returns a copy of every attribute.
func (n *Namespace) All() map[string]any {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return maps.Clone(n.attrs)
}
