package syncmgr

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// List is a shared list (Python's list). Indexes follow Python: a negative index counts
// from the end. Sort orders integers, floats and strings (including named types and
// values of those kinds inside any); other element types fail with ErrNotOrdered.
//
// An element may be a proxy of another shared object (List[*QueueProxy[string]]): the
// List stores the reference, and reading it back gives a working proxy.
//
//mgr:expose typeid=syncmgr.List concurrent inline
type List[T any] struct {
	mu    sync.RWMutex
	items []T
}

// NewList returns a List holding a copy of items (Python's list(items)).
func NewList[T any](items []T) *List[T] {
	return &List[T]{items: slices.Clone(items)}
}

// Len returns the number of elements.
func (l *List[T]) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.items)
}

// Get returns the element at index i, or ErrIndex (Python's l[i]).
func (l *List[T]) Get(i int) (T, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	j, err := pyIndex(i, len(l.items))
	if err != nil {
		var zero T
		return zero, err
	}
	return l.items[j], nil
}

// Set replaces the element at index i, or fails with ErrIndex (Python's l[i] = v).
func (l *List[T]) Set(i int, v T) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	j, err := pyIndex(i, len(l.items))
	if err != nil {
		return err
	}
	l.items[j] = v
	return nil
}

// Delete removes the element at index i, or fails with ErrIndex (Python's del l[i]).
func (l *List[T]) Delete(i int) error {
	_, _, err := l.pop(i)
	return err
}

// Append adds v at the end.
func (l *List[T]) Append(v T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.items = append(l.items, v)
}

// Extend adds vs at the end, in order (Python's extend and +=).
func (l *List[T]) Extend(vs []T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.items = append(l.items, vs...)
}

// Insert puts v before index i; like Python, an index past either end inserts at that
// end.
func (l *List[T]) Insert(i int, v T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.items)
	if i < 0 {
		i = max(0, i+n)
	}
	l.items = slices.Insert(l.items, min(i, n), v)
}

// Pop removes and returns the element at index i (-1: the last), or fails with ErrIndex.
// Should the caller never get the element (its reply cannot be encoded or sent, or the
// caller gave up on the call), the manager puts it back at its index (mgr.Undo; at the
// end if the list has since become shorter): an element taken out is never lost on the
// way.
func (l *List[T]) Pop(ctx context.Context, i int) (T, error) {
	v, j, err := l.pop(i)
	if err == nil {
		mgr.Undo(ctx, func() { l.Insert(j, v) })
	}
	return v, err
}

func (l *List[T]) pop(i int) (T, int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	j, err := pyIndex(i, len(l.items))
	if err != nil {
		var zero T
		return zero, 0, err
	}
	v := l.items[j]
	l.items = slices.Delete(l.items, j, j+1)
	return v, j, nil
}

// Index returns the index of the first element equal to v, or ErrNotFound.
func (l *List[T]) Index(v T) (int, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for i, x := range l.items {
		if equal(x, v) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w: %v not in list", ErrNotFound, v)
}

// Count returns how many elements equal v.
func (l *List[T]) Count(v T) int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	n := 0
	for _, x := range l.items {
		if equal(x, v) {
			n++
		}
	}
	return n
}

// Contains reports whether some element equals v (Python's v in l).
func (l *List[T]) Contains(v T) bool { return l.Count(v) > 0 }

// Remove removes the first element equal to v, or fails with ErrNotFound.
func (l *List[T]) Remove(v T) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, x := range l.items {
		if equal(x, v) {
			l.items = slices.Delete(l.items, i, i+1)
			return nil
		}
	}
	return fmt.Errorf("%w: %v not in list", ErrNotFound, v)
}

// Reverse reverses the list in place.
func (l *List[T]) Reverse() {
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Reverse(l.items)
}

// Sort sorts the list in place, stably, ascending or (reverse) descending. The elements
// must be integers, floats or strings of one kind; otherwise ErrNotOrdered and the list
// is unchanged.
func (l *List[T]) Sort(reverse bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 1; i < len(l.items); i++ {
		if _, err := compareAny(any(l.items[0]), any(l.items[i])); err != nil {
			return err
		}
	}
	if len(l.items) == 1 {
		if _, err := compareAny(any(l.items[0]), any(l.items[0])); err != nil {
			return err
		}
	}
	slices.SortStableFunc(l.items, func(a, b T) int {
		c, _ := compareAny(any(a), any(b)) // every pair was checked above
		if reverse {
			return -c
		}
		return c
	})
	return nil
}

// Slice returns a copy of l[start:stop] with Python's clamping and negative indexes; a
// stop of Len() or more means "to the end". It doubles as chunked iteration.
func (l *List[T]) Slice(start, stop int) []T {
	l.mu.RLock()
	defer l.mu.RUnlock()
	s, e := pySlice(start, stop, len(l.items))
	return slices.Clone(l.items[s:e:e])
}

// Range returns up to limit elements (limit < 0: all) from index offset: chunked
// iteration, one round trip per chunk.
func (l *List[T]) Range(offset, limit int) []T {
	l.mu.RLock()
	defer l.mu.RUnlock()
	s := max(0, min(offset, len(l.items)))
	e := len(l.items)
	if limit >= 0 && limit < e-s { // limit < e-s, not e > s+limit: s+limit may overflow
		e = s + limit
	}
	return append(make([]T, 0, e-s), l.items[s:e]...)
}

// Copy returns a copy of the whole list.
func (l *List[T]) Copy() []T { return l.Range(0, -1) }

// Clear removes every element.
func (l *List[T]) Clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.items)
	l.items = l.items[:0]
}

// CompareAndSwap replaces the element at index i with new if it equals old, and reports
// whether it did. An index out of range is ErrIndex.
func (l *List[T]) CompareAndSwap(i int, old, new T) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	j, err := pyIndex(i, len(l.items))
	if err != nil {
		return false, err
	}
	if !equal(l.items[j], old) {
		return false, nil
	}
	l.items[j] = new
	return true, nil
}

// AddNumber adds delta to the number at index i and returns the new value, atomically.
func (l *List[T]) AddNumber(i int, delta T) (T, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	j, err := pyIndex(i, len(l.items))
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := addNumber(l.items[j], delta)
	if err != nil {
		return v, err
	}
	l.items[j] = v
	return v, nil
}
