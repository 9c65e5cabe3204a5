package syncmgr

import (
	"context"
	"fmt"
	"sync"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Set is a shared set (Python 3.14's SyncManager set). The operations that Python
// spells with a second set take the other set's elements as a slice; the ones without
// "Update" return a new slice and leave the Set alone. Elements come back in no
// particular order.
//
//mgr:expose typeid=syncmgr.Set concurrent inline
type Set[T comparable] struct {
	mu sync.RWMutex
	m  map[T]struct{}
}

// NewSet returns a Set holding items.
func NewSet[T comparable](items []T) *Set[T] {
	s := &Set[T]{m: make(map[T]struct{}, len(items))}
	for _, v := range items {
		s.m[v] = struct{}{}
	}
	return s
}

func toSet[T comparable](items []T) map[T]struct{} {
	m := make(map[T]struct{}, len(items))
	for _, v := range items {
		m[v] = struct{}{}
	}
	return m
}

func keysOf[T comparable](m map[T]struct{}) []T {
	out := make([]T, 0, len(m))
	for v := range m {
		out = append(out, v)
	}
	return out
}

// Add adds v and reports whether it was new.
func (s *Set[T]) Add(v T) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, had := s.m[v]
	s.m[v] = struct{}{}
	return !had
}

// Discard removes v if present and reports whether it was.
func (s *Set[T]) Discard(v T) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, had := s.m[v]
	delete(s.m, v)
	return had
}

// Remove removes v, or fails with ErrNoKey if it is absent (Python's KeyError).
func (s *Set[T]) Remove(v T) error {
	if !s.Discard(v) {
		return fmt.Errorf("%w: %v", ErrNoKey, v)
	}
	return nil
}

// Contains reports whether v is in the set.
func (s *Set[T]) Contains(v T) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.m[v]
	return ok
}

// Len returns the number of elements.
func (s *Set[T]) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.m)
}

// Pop removes and returns an arbitrary element, or fails with ErrNoKey when empty.
// Should the caller never get the element (its reply cannot be encoded or sent, or the
// caller gave up on the call), the manager adds it back (mgr.Undo).
func (s *Set[T]) Pop(ctx context.Context) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for v := range s.m {
		delete(s.m, v)
		mgr.Undo(ctx, func() { s.Add(v) })
		return v, nil
	}
	var zero T
	return zero, fmt.Errorf("%w: Pop from an empty Set", ErrNoKey)
}

// Clear removes every element.
func (s *Set[T]) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.m)
}

// Items returns the elements (Python's copy(), as a plain value).
func (s *Set[T]) Items() []T {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return keysOf(s.m)
}

// Update adds every element of other (Python's update and |=).
func (s *Set[T]) Update(other []T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range other {
		s.m[v] = struct{}{}
	}
}

// IntersectionUpdate keeps only the elements also in other (&=).
func (s *Set[T]) IntersectionUpdate(other []T) {
	o := toSet(other)
	s.mu.Lock()
	defer s.mu.Unlock()
	for v := range s.m {
		if _, ok := o[v]; !ok {
			delete(s.m, v)
		}
	}
}

// DifferenceUpdate removes every element of other (-=).
func (s *Set[T]) DifferenceUpdate(other []T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range other {
		delete(s.m, v)
	}
}

// SymmetricDifferenceUpdate keeps the elements in exactly one of the two (^=).
func (s *Set[T]) SymmetricDifferenceUpdate(other []T) {
	o := toSet(other)
	s.mu.Lock()
	defer s.mu.Unlock()
	for v := range o {
		if _, ok := s.m[v]; ok {
			delete(s.m, v)
		} else {
			s.m[v] = struct{}{}
		}
	}
}

// Union returns the elements of the set and of other (|), leaving the set alone.
func (s *Set[T]) Union(other []T) []T {
	s.mu.RLock()
	m := make(map[T]struct{}, len(s.m)+len(other))
	for v := range s.m {
		m[v] = struct{}{}
	}
	s.mu.RUnlock()
	for _, v := range other {
		m[v] = struct{}{}
	}
	return keysOf(m)
}

// Intersection returns the elements in both the set and other (&).
func (s *Set[T]) Intersection(other []T) []T {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := map[T]struct{}{}
	for _, v := range other {
		if _, ok := s.m[v]; ok {
			m[v] = struct{}{}
		}
	}
	return keysOf(m)
}

// Difference returns the elements of the set not in other (-).
func (s *Set[T]) Difference(other []T) []T {
	o := toSet(other)
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []T{}
	for v := range s.m {
		if _, ok := o[v]; !ok {
			out = append(out, v)
		}
	}
	return out
}

// SymmetricDifference returns the elements in exactly one of the set and other (^).
func (s *Set[T]) SymmetricDifference(other []T) []T {
	o := toSet(other)
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []T{}
	for v := range s.m {
		if _, ok := o[v]; !ok {
			out = append(out, v)
		}
	}
	for v := range o {
		if _, ok := s.m[v]; !ok {
			out = append(out, v)
		}
	}
	return out
}

// IsSubset reports whether every element of the set is in other (<=).
func (s *Set[T]) IsSubset(other []T) bool {
	o := toSet(other)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for v := range s.m {
		if _, ok := o[v]; !ok {
			return false
		}
	}
	return true
}

// IsSuperset reports whether every element of other is in the set (>=).
func (s *Set[T]) IsSuperset(other []T) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, v := range other {
		if _, ok := s.m[v]; !ok {
			return false
		}
	}
	return true
}

// IsDisjoint reports whether the set and other have no element in common.
func (s *Set[T]) IsDisjoint(other []T) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, v := range other {
		if _, ok := s.m[v]; ok {
			return false
		}
	}
	return true
}
