package syncmgr

import (
	"context"
	"errors"
	"fmt"
	"iter"
)

// Iteration over shared containers (Python's `for k, v in d.items()`, `for x in l`).
//
// A proxy's iterator fetches IterChunk elements per round trip through the container's
// paging methods (Dict.Range, List.Range, Queue.GetMany), so a large container costs a
// few calls, not one call per element, and never one frame holding all of it. Each chunk
// is one call, consistent in itself; between chunks other processes may change the
// container, and each iterator says what that means for it.
//
// Errors: the iterators take an *error, set to nil when the loop starts and to the
// first error met (the manager shut down, ctx ended, the connection broke), which ends
// the loop. Check it after the loop, as with bufio.Scanner.Err:
//
//	var err error
//	for k, v := range d.All(ctx, &err) {
//		…
//	}
//	if err != nil {
//		return err
//	}
//
// A pointer rather than an Err method on an iterator object, so that the loop cannot be
// written without a place for the error. Breaking out of a loop early is fine and costs
// nothing: no call is in flight between iterations.

// IterChunk is how many elements an iterator fetches per round trip.
const IterChunk = 256

// ErrChanged ends a DictProxy.All loop whose Dict lost entries before the loop's
// position between two chunks: the entries after them moved towards the front, and
// going on would silently skip some. Python raises RuntimeError ("dictionary changed size
// during iteration") for the same thing. Delete while iterating by collecting the keys
// first (Keys), or take entries with PopItem.
var ErrChanged = errors.New("syncmgr: Dict lost entries before the iteration's position")

func needErr(errp *error, what string) {
	if errp == nil {
		panic("syncmgr: " + what + " needs an *error to report its error to: pass &err and check err after the loop")
	}
}

// All iterates over the Dict's entries in insertion order, IterChunk per round trip,
// and sets *errp to the error that ended the loop early, if any (see the package's
// iteration notes).
//
// Under concurrent changes each entry is yielded at most once: entries added during the
// loop are yielded (they go to the end) unless the last chunk was fetched before they
// came, and a value
// changed during the loop is yielded with the value it had when its chunk was fetched.
// If entries before the loop's position are deleted (including one the loop just
// yielded), the loop ends with ErrChanged at the next chunk rather than skip entries; a
// Dict of fewer than IterChunk entries is one consistent snapshot.
func (p *DictProxy[K, V]) All(ctx context.Context, errp *error) iter.Seq2[K, V] {
	needErr(errp, "DictProxy.All")
	return func(yield func(K, V) bool) {
		*errp = nil
		offset := 0 // entries yielded so far
		var last K  // the last key yielded
		for {
			var items []Item[K, V]
			var err error
			if offset == 0 {
				items, err = p.Range(ctx, 0, IterChunk)
			} else {
				// One entry of overlap: the last key yielded must still be where it was,
				// or entries before it went and those after it moved forward.
				items, err = p.Range(ctx, offset-1, IterChunk+1)
				if err == nil {
					if len(items) == 0 || items[0].Key != last {
						*errp = fmt.Errorf("%w (after %d entries)", ErrChanged, offset)
						return
					}
					items = items[1:]
				}
			}
			if err != nil {
				*errp = fmt.Errorf("syncmgr: Dict iteration after %d entries: %w", offset, err)
				return
			}
			for _, it := range items {
				if !yield(it.Key, it.Value) {
					return
				}
			}
			if len(items) < IterChunk {
				return
			}
			offset += len(items)
			last = items[len(items)-1].Key
		}
	}
}

// All iterates over the List's elements from index 0, IterChunk per round trip, and sets
// *errp to the error that ended the loop early, if any (see the package's iteration
// notes).
//
// Chunks are fetched by index, as Python's list iterator does: elements appended during
// the loop are yielded; an element inserted before the loop's position makes the loop
// yield an element twice, and one deleted before it makes the loop skip one, unless the
// List has fewer than IterChunk elements, which is one consistent snapshot. Elements are
// not comparable in general, so the List cannot tell; take a snapshot with Copy, or lock,
// if others change it.
func (p *ListProxy[T]) All(ctx context.Context, errp *error) iter.Seq[T] {
	needErr(errp, "ListProxy.All")
	return func(yield func(T) bool) {
		*errp = nil
		for offset := 0; ; {
			items, err := p.Range(ctx, offset, IterChunk)
			if err != nil {
				*errp = fmt.Errorf("syncmgr: List iteration after %d elements: %w", offset, err)
				return
			}
			for _, v := range items {
				if !yield(v) {
					return
				}
			}
			if len(items) < IterChunk {
				return
			}
			offset += len(items)
		}
	}
}

// All iterates over the Set's elements, in no particular order, and sets *errp to the
// error that ended the loop early, if any (see the package's iteration notes).
//
// A Set has no order to page by, so All takes one snapshot (Items) in one round trip:
// changes made during the loop are not seen, and the snapshot must fit in a frame
// (Options.MaxFrame).
func (p *SetProxy[T]) All(ctx context.Context, errp *error) iter.Seq[T] {
	needErr(errp, "SetProxy.All")
	return func(yield func(T) bool) {
		*errp = nil
		items, err := p.Items(ctx)
		if err != nil {
			*errp = fmt.Errorf("syncmgr: Set iteration: %w", err)
			return
		}
		for _, v := range items {
			if !yield(v) {
				return
			}
		}
	}
}

// Drain takes the Queue's items, oldest first, until it finds the queue empty, and
// yields them in batches of up to IterChunk (one GetMany each); it sets *errp to the
// error that ended the loop early, if any (see the package's iteration notes).
//
//	for batch := range q.Drain(ctx, &err) {
//		for _, item := range batch { … }
//	}
//
// It yields batches, not items, because the items of a batch have left the queue: were
// the loop to stop in the middle of a batch, the rest would be lost, or would have to
// go back to the end of the queue, out of order. A batch handed to the loop is the
// loop's. Items put while Drain runs are taken too, so Drain against a steady producer
// runs until ctx ends. The queue is found empty by Qsize before each batch; when another
// consumer takes the items between that and the GetMany, the GetMany waits for the next
// item to be put (or for ctx to end), as any Get would.
func (p *QueueProxy[T]) Drain(ctx context.Context, errp *error) iter.Seq[[]T] {
	needErr(errp, "QueueProxy.Drain")
	return func(yield func([]T) bool) {
		*errp = nil
		taken := 0
		for {
			n, err := p.Qsize(ctx)
			if err == nil && n == 0 {
				return
			}
			var batch []T
			if err == nil {
				batch, err = p.GetMany(ctx, min(n, IterChunk))
			}
			if err != nil {
				*errp = fmt.Errorf("syncmgr: Queue drain after %d items: %w", taken, err)
				return
			}
			taken += len(batch)
			if !yield(batch) {
				return
			}
		}
	}
}
