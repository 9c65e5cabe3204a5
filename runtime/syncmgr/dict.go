package syncmgr

import (
	"context"
	"fmt"
	"sync"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Item is one key and value of a Dict.
type Item[K comparable, V any] struct {
	Key   K
	Value V
}

// Dict is a shared map (Python's dict) that keeps insertion order, as Python's does:
// Keys, Values, Items and Range list entries oldest first. Besides Python's methods it
// has atomic read-modify-write operations (AddNumber, CompareAndSwap, GetOrSet, Swap),
// so that `d[k] += 1` needs no lock and loses no update.
//
// A value may be a proxy of another shared object (Dict[string, *ListProxy[int]]): the
// Dict stores the reference, and reading it back gives a working proxy.
//
//mgr:expose typeid=syncmgr.Dict concurrent inline
type Dict[K comparable, V any] struct {
	mu      sync.RWMutex
	entries []dictEntry[K, V] // insertion order, with holes where keys were deleted
	index   map[K]int         // key → position in entries
	holes   int
}

type dictEntry[K comparable, V any] struct {
	key  K
	val  V
	live bool
}

// NewDict returns an empty Dict.
func NewDict[K comparable, V any]() *Dict[K, V] {
	return &Dict[K, V]{index: map[K]int{}}
}

func (d *Dict[K, V]) setLocked(k K, v V) {
	if i, ok := d.index[k]; ok {
		d.entries[i].val = v
		return
	}
	d.index[k] = len(d.entries)
	d.entries = append(d.entries, dictEntry[K, V]{key: k, val: v, live: true})
}

func (d *Dict[K, V]) deleteLocked(k K) (V, bool) {
	i, ok := d.index[k]
	if !ok {
		var zero V
		return zero, false
	}
	v := d.entries[i].val
	delete(d.index, k)
	d.entries[i] = dictEntry[K, V]{}
	d.holes++
	// Compact when half the slots are holes, so deletions cost amortised O(1).
	if d.holes > 16 && d.holes*2 > len(d.entries) {
		kept := d.entries[:0]
		for _, e := range d.entries {
			if e.live {
				d.index[e.key] = len(kept)
				kept = append(kept, e)
			}
		}
		clear(d.entries[len(kept):])
		d.entries, d.holes = kept, 0
	}
	return v, true
}

// Get returns the value of key and whether it is present (Python's d.get(k)).
func (d *Dict[K, V]) Get(key K) (V, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if i, ok := d.index[key]; ok {
		return d.entries[i].val, true
	}
	var zero V
	return zero, false
}

// GetItem returns the value of key, or ErrNoKey (Python's d[k]).
func (d *Dict[K, V]) GetItem(key K) (V, error) {
	v, ok := d.Get(key)
	if !ok {
		return v, fmt.Errorf("%w: %v", ErrNoKey, key)
	}
	return v, nil
}

// Set sets key to value (Python's d[k] = v).
func (d *Dict[K, V]) Set(key K, value V) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.setLocked(key, value)
}

// Delete removes key and reports whether it was present (Python's del d[k], without the
// KeyError).
func (d *Dict[K, V]) Delete(key K) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.deleteLocked(key)
	return ok
}

// Len returns the number of keys.
func (d *Dict[K, V]) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.index)
}

// Contains reports whether key is present (Python's k in d).
func (d *Dict[K, V]) Contains(key K) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	_, ok := d.index[key]
	return ok
}

// Keys returns a copy of the keys in insertion order.
func (d *Dict[K, V]) Keys() []K {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]K, 0, len(d.index))
	for _, e := range d.entries {
		if e.live {
			out = append(out, e.key)
		}
	}
	return out
}

// Values returns a copy of the values in insertion order.
func (d *Dict[K, V]) Values() []V {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]V, 0, len(d.index))
	for _, e := range d.entries {
		if e.live {
			out = append(out, e.val)
		}
	}
	return out
}

// Items returns a copy of the entries in insertion order.
func (d *Dict[K, V]) Items() []Item[K, V] { return d.Range(0, -1) }

// Range returns up to limit entries (limit < 0: all) in insertion order, skipping the
// first offset: chunked iteration over a large Dict, one round trip per chunk.
// Concurrent deletions shift later entries towards the front, as in a list.
func (d *Dict[K, V]) Range(offset, limit int) []Item[K, V] {
	d.mu.RLock()
	defer d.mu.RUnlock()
	n := len(d.index) - max(offset, 0)
	if limit >= 0 {
		n = min(n, limit)
	}
	if n <= 0 {
		return []Item[K, V]{}
	}
	out := make([]Item[K, V], 0, n)
	skip := max(offset, 0)
	for _, e := range d.entries {
		if !e.live {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		if len(out) == n {
			break
		}
		out = append(out, Item[K, V]{e.key, e.val})
	}
	return out
}

// Copy returns the contents as a Go map (Python's d.copy(), as a plain value).
func (d *Dict[K, V]) Copy() map[K]V {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make(map[K]V, len(d.index))
	for _, e := range d.entries {
		if e.live {
			out[e.key] = e.val
		}
	}
	return out
}

// Update sets every key of m (Python's d.update(m)).
func (d *Dict[K, V]) Update(m map[K]V) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, v := range m {
		d.setLocked(k, v)
	}
}

// UpdateItems sets the entries in order (Python's d.update(pairs)); unlike Update it
// keeps the caller's order for new keys.
func (d *Dict[K, V]) UpdateItems(items []Item[K, V]) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, it := range items {
		d.setLocked(it.Key, it.Value)
	}
}

// Pop removes key and returns its value, or fails with ErrNoKey. Should the caller
// never get the value (its reply cannot be encoded or sent, or the caller gave up on the
// call), the manager puts it back (mgr.Undo), at the end of the order, unless the key
// has been set again meanwhile: a value taken out is never lost on the way.
func (d *Dict[K, V]) Pop(ctx context.Context, key K) (V, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.deleteLocked(key)
	if !ok {
		return v, fmt.Errorf("%w: %v", ErrNoKey, key)
	}
	mgr.Undo(ctx, func() { d.putBack(key, v) })
	return v, nil
}

// PopItem removes and returns the newest entry (Python's popitem(), LIFO), or fails
// with ErrNoKey when the Dict is empty. Like Pop, an entry whose caller never gets it
// goes back.
func (d *Dict[K, V]) PopItem(ctx context.Context) (K, V, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := len(d.entries) - 1; i >= 0; i-- {
		if e := d.entries[i]; e.live {
			d.deleteLocked(e.key)
			mgr.Undo(ctx, func() { d.putBack(e.key, e.val) })
			return e.key, e.val, nil
		}
	}
	var k K
	var v V
	return k, v, fmt.Errorf("%w: PopItem on an empty Dict", ErrNoKey)
}

// putBack undoes a Pop whose value never reached its caller; a key set again since
// keeps its newer value.
func (d *Dict[K, V]) putBack(k K, v V) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.index[k]; !ok {
		d.setLocked(k, v)
	}
}

// SetDefault returns the value of key, setting it to def first if it is missing
// (Python's setdefault). GetOrSet also says which happened.
func (d *Dict[K, V]) SetDefault(key K, def V) V {
	v, _ := d.GetOrSet(key, def)
	return v
}

// GetOrSet returns the value of key if present (loaded = true); otherwise it sets key to
// value and returns it. Atomic.
func (d *Dict[K, V]) GetOrSet(key K, value V) (actual V, loaded bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if i, ok := d.index[key]; ok {
		return d.entries[i].val, true
	}
	d.setLocked(key, value)
	return value, false
}

// Swap sets key to value and returns the previous value and whether there was one.
func (d *Dict[K, V]) Swap(key K, value V) (previous V, loaded bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if i, ok := d.index[key]; ok {
		previous, loaded = d.entries[i].val, true
	}
	d.setLocked(key, value)
	return previous, loaded
}

// CompareAndSwap sets key to new if its value equals old, and reports whether it did. A
// missing key never matches. Values are compared with == where possible, proxies by the
// object they refer to, other values deeply.
func (d *Dict[K, V]) CompareAndSwap(key K, old, new V) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	i, ok := d.index[key]
	if !ok || !equal(d.entries[i].val, old) {
		return false
	}
	d.entries[i].val = new
	return true
}

// CompareAndDelete deletes key if its value equals old, and reports whether it did.
func (d *Dict[K, V]) CompareAndDelete(key K, old V) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	i, ok := d.index[key]
	if !ok || !equal(d.entries[i].val, old) {
		return false
	}
	d.deleteLocked(key)
	return true
}

// AddNumber adds delta to the number stored at key (a missing key counts as zero) and
// returns the new value, atomically: the remedy for `d[k] += 1` racing between
// processes. V must be a number type, or any holding numbers; otherwise ErrNotNumber.
func (d *Dict[K, V]) AddNumber(key K, delta V) (V, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var cur V
	if i, ok := d.index[key]; ok {
		cur = d.entries[i].val
	}
	v, err := addNumber(cur, delta)
	if err != nil {
		return v, fmt.Errorf("AddNumber(%v): %w", key, err)
	}
	d.setLocked(key, v)
	return v, nil
}

// Clear removes every key.
func (d *Dict[K, V]) Clear() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.entries, d.index, d.holes = nil, map[K]int{}, 0
}
