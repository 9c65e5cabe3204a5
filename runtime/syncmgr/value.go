package syncmgr

import (
	"slices"
	"sync"
)

// Value is one shared value (Python's SyncManager Value), with atomic compare-and-swap
// and, for numbers, atomic addition.
//
//mgr:expose typeid=syncmgr.Value concurrent inline
type Value[T any] struct {
	mu sync.Mutex
	v  T
}

// NewValue returns a Value holding v.
func NewValue[T any](v T) *Value[T] { return &Value[T]{v: v} }

// Get returns the value.
func (x *Value[T]) Get() T {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.v
}

// Set replaces the value.
func (x *Value[T]) Set(v T) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.v = v
}

// Swap replaces the value and returns the previous one.
func (x *Value[T]) Swap(v T) T {
	x.mu.Lock()
	defer x.mu.Unlock()
	old := x.v
	x.v = v
	return old
}

// CompareAndSwap replaces the value with new if it equals old, and reports whether it did.
func (x *Value[T]) CompareAndSwap(old, new T) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !equal(x.v, old) {
		return false
	}
	x.v = new
	return true
}

// AddNumber adds delta to a numeric value and returns the result (ErrNotNumber for
// other types).
func (x *Value[T]) AddNumber(delta T) (T, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	v, err := addNumber(x.v, delta)
	if err != nil {
		return v, err
	}
	x.v = v
	return v, nil
}

// Array is a shared fixed-length array (Python's SyncManager Array): elements are read
// and written by index, never appended or removed.
//
//mgr:expose typeid=syncmgr.Array concurrent inline
type Array[T any] struct {
	mu    sync.RWMutex
	items []T
}

// NewArray returns an Array holding a copy of items; its length is len(items). Use
// make([]T, n) for n zero values.
func NewArray[T any](items []T) *Array[T] {
	return &Array[T]{items: slices.Clone(items)}
}

// Len returns the array's length.
func (a *Array[T]) Len() int { return len(a.items) } // fixed at creation: no lock needed

// Get returns the element at index i (negative: from the end), or ErrIndex.
func (a *Array[T]) Get(i int) (T, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	j, err := pyIndex(i, len(a.items))
	if err != nil {
		var zero T
		return zero, err
	}
	return a.items[j], nil
}

// Set replaces the element at index i, or fails with ErrIndex.
func (a *Array[T]) Set(i int, v T) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	j, err := pyIndex(i, len(a.items))
	if err != nil {
		return err
	}
	a.items[j] = v
	return nil
}

// Slice returns a copy of a[start:stop] with Python's clamping and negative indexes.
func (a *Array[T]) Slice(start, stop int) []T {
	a.mu.RLock()
	defer a.mu.RUnlock()
	s, e := pySlice(start, stop, len(a.items))
	return slices.Clone(a.items[s:e:e])
}

// Items returns a copy of the whole array (Python's list(arr)).
func (a *Array[T]) Items() []T {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return slices.Clone(a.items)
}

// CompareAndSwap replaces the element at index i with new if it equals old.
func (a *Array[T]) CompareAndSwap(i int, old, new T) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	j, err := pyIndex(i, len(a.items))
	if err != nil {
		return false, err
	}
	if !equal(a.items[j], old) {
		return false, nil
	}
	a.items[j] = new
	return true, nil
}

// AddNumber adds delta to the number at index i and returns the result, atomically.
func (a *Array[T]) AddNumber(i int, delta T) (T, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	j, err := pyIndex(i, len(a.items))
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := addNumber(a.items[j], delta)
	if err != nil {
		return v, err
	}
	a.items[j] = v
	return v, nil
}
