// Package options uses every //mgr:expose option.
package options

import (
	"context"
	"sync"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Store is concurrent, has a custom TypeID and constructor, and hides a method.
//
//mgr:expose typeid=example.Store constructor=OpenStore hide=Debug concurrent
type Store struct {
	mu sync.Mutex
	m  map[string]string
}

// OpenStore is named by constructor=.
func OpenStore(name string, capacity int) *Store { return &Store{m: map[string]string{}} }

// NewStore is not the constructor: constructor= names another.
func NewStore() {}

// Put stores v under k.
func (s *Store) Put(k, v string) { s.m[k] = v }

// Get returns the value under k.
func (s *Store) Get(k string) (string, bool) { v, ok := s.m[k]; return v, ok }

// Debug is hidden.
func (s *Store) Debug() string { return "" }

// MgrState describes the store to the manager (mgr.StateReporter): never exposed.
func (s *Store) MgrState() mgr.ObjectState {
	return mgr.ObjectState{Fields: []mgr.StateField{{Name: "keys", Value: len(s.m)}}}
}

// Iter is only ever returned by other methods: no creator.
//
//mgr:expose nocreate
type Iter struct{}

// Next returns the next item.
func (*Iter) Next() (string, bool) { return "", false }

// Locked exposes a promoted method by name, and only that one.
//
//mgr:expose methods=Lock,Unlock,Value
type Locked struct {
	sync.Mutex
	v int
}

// Value returns the value.
func (l *Locked) Value() int { return l.v }

// Inc is not in the allow-list.
func (l *Locked) Inc() { l.v++ }

// Lease has a Release method of its own: the proxy calls it Return, since every proxy's
// Release drops the proxy's reference.
//
//mgr:expose rename=Release:Return
type Lease struct{}

// Release gives the lease back.
func (*Lease) Release() error { return nil }

// Renew extends the lease.
func (*Lease) Renew() {}

// Mailbox runs every method inline, the context-taking one too: Take calls
// mgr.Blocking before it waits.
//
//mgr:expose concurrent inline
type Mailbox struct {
	items chan string
}

// Send leaves an item.
func (m *Mailbox) Send(item string) { m.items <- item }

// Take waits for an item.
func (m *Mailbox) Take(ctx context.Context) (string, error) {
	mgr.Blocking(ctx)
	select {
	case it := <-m.items:
		return it, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
