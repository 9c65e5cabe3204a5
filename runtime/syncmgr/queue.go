package syncmgr

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Queue is a shared FIFO queue (Python's queue.Queue, which SyncManager serves as both
// Queue and JoinableQueue): blocking and non-blocking Put and Get, batches of items in
// one round trip, and TaskDone/Join to wait until every item has been processed.
//
//mgr:expose typeid=syncmgr.Queue concurrent inline
type Queue[T any] struct {
	mu      sync.Mutex
	items   []T // items[head:] are queued
	head    int
	maxsize int // <= 0: unbounded
	// notEmpty and notFull are closed (and replaced) to wake Get and Put waiters; only
	// when someone waits, so an uncontended Put or Get allocates nothing.
	notEmpty   chan struct{}
	notFull    chan struct{}
	getWaiters int
	putWaiters int
	// unfinished counts items put and not yet marked done; allDone closes at zero.
	unfinished int
	allDone    chan struct{}
	shutDown   bool // Shutdown was called: Put fails, and Get once the queue is empty
}

// NewQueue returns a Queue holding at most maxsize items (maxsize <= 0: no limit).
func NewQueue[T any](maxsize int) *Queue[T] {
	done := make(chan struct{})
	close(done)
	return &Queue[T]{maxsize: maxsize, notEmpty: make(chan struct{}), notFull: make(chan struct{}), allDone: done}
}

func (q *Queue[T]) lenLocked() int { return len(q.items) - q.head }

func (q *Queue[T]) fullLocked() bool { return q.maxsize > 0 && q.lenLocked() >= q.maxsize }

func (q *Queue[T]) pushLocked(v T) {
	if q.head > 0 && q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0 // reuse the array once drained
	}
	q.items = append(q.items, v)
	if q.unfinished == 0 {
		q.allDone = make(chan struct{})
	}
	q.unfinished++
	q.wakeGettersLocked()
}

func (q *Queue[T]) wakeGettersLocked() {
	if q.getWaiters > 0 {
		close(q.notEmpty)
		q.notEmpty = make(chan struct{})
	}
}

func (q *Queue[T]) popLocked() T {
	var zero T
	v := q.items[q.head]
	q.items[q.head] = zero // let the garbage collector have it
	q.head++
	if q.putWaiters > 0 {
		close(q.notFull)
		q.notFull = make(chan struct{})
	}
	return v
}

// unpopLocked puts v back at the front: a Get whose caller gave up returns its item.
func (q *Queue[T]) unpopLocked(v T) {
	if q.head > 0 {
		q.head--
		q.items[q.head] = v
	} else {
		q.items = append([]T{v}, q.items...)
	}
	q.wakeGettersLocked()
}

// put waits for room until ctx ends or dl passes (block=false: not at all).
//
// A Put cannot be undone once its item is in (another caller may take it at once), so
// the item goes in only while its caller will hear so: put commits the call
// (mgr.Commit) once it finds room, and puts nothing if the call was cancelled. Commit is
// not asked under q.mu (it takes the session's lock, which a Cancel holds while it
// writes), so the room is looked at again after it.
func (q *Queue[T]) put(ctx context.Context, v T, block bool, dl time.Time) error {
	committed := false
	q.mu.Lock()
	for {
		if q.shutDown {
			q.mu.Unlock()
			return ErrShutDown
		}
		for q.fullLocked() {
			if !block {
				q.mu.Unlock()
				return ErrFull
			}
			ch := q.notFull
			q.putWaiters++
			q.mu.Unlock()
			err := wait(ctx, ch, dl)
			q.mu.Lock()
			q.putWaiters--
			if err == errTimedOut {
				q.mu.Unlock()
				return ErrFull
			} else if err != nil {
				q.mu.Unlock()
				return err
			}
			if q.shutDown {
				q.mu.Unlock()
				return ErrShutDown
			}
		}
		if committed {
			break
		}
		q.mu.Unlock()
		if err := mgr.Commit(ctx); err != nil {
			return err
		}
		committed = true
		q.mu.Lock()
	}
	q.pushLocked(v)
	q.mu.Unlock()
	return nil
}

func (q *Queue[T]) get(ctx context.Context, block bool, dl time.Time) (T, error) {
	var zero T
	q.mu.Lock()
	for q.lenLocked() == 0 {
		if q.shutDown {
			q.mu.Unlock()
			return zero, ErrShutDown
		}
		if !block {
			q.mu.Unlock()
			return zero, ErrEmpty
		}
		ch := q.notEmpty
		q.getWaiters++
		q.mu.Unlock()
		err := wait(ctx, ch, dl)
		q.mu.Lock()
		q.getWaiters--
		if err == errTimedOut {
			q.mu.Unlock()
			return zero, ErrEmpty
		} else if err != nil {
			q.mu.Unlock()
			return zero, err
		}
	}
	v := q.popLocked()
	q.mu.Unlock()
	return v, nil
}

// Put appends item, waiting for room in a bounded queue until ctx ends.
func (q *Queue[T]) Put(ctx context.Context, item T) error {
	return q.put(ctx, item, true, time.Time{})
}

// PutTimeout appends item, waiting at most timeout (negative: no limit) for room; it
// fails with ErrFull when the time is up (Python's put(item, timeout=...)).
func (q *Queue[T]) PutTimeout(ctx context.Context, item T, timeout time.Duration) error {
	return q.put(ctx, item, true, deadline(timeout))
}

// PutNowait appends item if there is room, else fails with ErrFull.
func (q *Queue[T]) PutNowait(ctx context.Context, item T) error {
	return q.put(ctx, item, false, time.Time{})
}

// PutMany appends items in order in one round trip, waiting for room as needed until
// ctx ends; on an error the items before the one that failed are queued (the error
// says how many).
func (q *Queue[T]) PutMany(ctx context.Context, items []T) error {
	for i, v := range items {
		if err := q.put(ctx, v, true, time.Time{}); err != nil {
			return fmt.Errorf("PutMany: %d of %d items queued: %w", i, len(items), err)
		}
	}
	return nil
}

// Get removes and returns the oldest item, waiting until there is one or ctx ends. An
// item taken as the caller gives up goes back to the front of the queue.
func (q *Queue[T]) Get(ctx context.Context) (T, error) {
	v, err := q.get(ctx, true, time.Time{})
	return q.keep(ctx, v, err)
}

// GetTimeout is Get waiting at most timeout (negative: no limit); it fails with
// ErrEmpty when the time is up (Python's get(timeout=...)).
func (q *Queue[T]) GetTimeout(ctx context.Context, timeout time.Duration) (T, error) {
	v, err := q.get(ctx, true, deadline(timeout))
	return q.keep(ctx, v, err)
}

// GetNowait removes and returns the oldest item, or fails with ErrEmpty.
func (q *Queue[T]) GetNowait(ctx context.Context) (T, error) {
	v, err := q.get(ctx, false, time.Time{})
	return q.keep(ctx, v, err)
}

// keep makes sure a taken item reaches a caller or goes back to the front of the queue:
// at once if the caller has given up already, or later if the manager learns that the
// caller never took the reply (mgr.Undo).
func (q *Queue[T]) keep(ctx context.Context, v T, err error) (T, error) {
	if err != nil {
		return v, err
	}
	if ctx.Err() != nil {
		q.mu.Lock()
		q.unpopLocked(v)
		q.mu.Unlock()
		var zero T
		return zero, ctx.Err()
	}
	mgr.Undo(ctx, func() {
		q.mu.Lock()
		q.unpopLocked(v)
		q.mu.Unlock()
	})
	return v, nil
}

// GetMany waits until the queue holds an item (or ctx ends), then removes and returns
// up to max of the items queued, oldest first, in one round trip. max < 1 is ErrInvalid.
func (q *Queue[T]) GetMany(ctx context.Context, max int) ([]T, error) {
	if max < 1 {
		return nil, fmt.Errorf("%w: GetMany(%d)", ErrInvalid, max)
	}
	first, err := q.get(ctx, true, time.Time{})
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if ctx.Err() != nil {
		q.unpopLocked(first)
		return nil, ctx.Err()
	}
	out := make([]T, 1, min(max, 1+q.lenLocked()))
	out[0] = first
	for len(out) < max && q.lenLocked() > 0 {
		out = append(out, q.popLocked())
	}
	mgr.Undo(ctx, func() { // all of them back, in their order (see keep)
		q.mu.Lock()
		for i := len(out) - 1; i >= 0; i-- {
			q.unpopLocked(out[i])
		}
		q.mu.Unlock()
	})
	return out, nil
}

// Qsize returns the number of items queued.
func (q *Queue[T]) Qsize() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.lenLocked()
}

// Empty reports whether the queue holds no item.
func (q *Queue[T]) Empty() bool { return q.Qsize() == 0 }

// Full reports whether a bounded queue holds maxsize items.
func (q *Queue[T]) Full() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.fullLocked()
}

// Maxsize returns the bound given at creation (<= 0: unbounded).
func (q *Queue[T]) Maxsize() int { return q.maxsize }

// TaskDone marks one item taken with Get as processed; when every item put has been
// marked, Join returns. Calling it more often than items were put is ErrTaskDone.
func (q *Queue[T]) TaskDone() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.unfinished == 0 {
		return ErrTaskDone
	}
	q.unfinished--
	if q.unfinished == 0 {
		close(q.allDone)
	}
	return nil
}

// Shutdown shuts the queue down, as Python 3.13's Queue.shutdown: from now on Put
// fails with ErrShutDown, and Get does once the queue is empty; callers waiting in
// either are woken to fail so. With immediate, the items still queued are dropped (each
// counted as done, so Join returns) and Get fails at once.
func (q *Queue[T]) Shutdown(immediate bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shutDown = true
	if immediate {
		var zero T
		for q.lenLocked() > 0 {
			q.items[q.head] = zero
			q.head++
			if q.unfinished > 0 {
				q.unfinished--
				if q.unfinished == 0 {
					close(q.allDone)
				}
			}
		}
	}
	// Wake every waiter: each looks again and finds the queue shut down.
	if q.getWaiters > 0 {
		close(q.notEmpty)
		q.notEmpty = make(chan struct{})
	}
	if q.putWaiters > 0 {
		close(q.notFull)
		q.notFull = make(chan struct{})
	}
}

// IsShutDown reports whether Shutdown has been called.
func (q *Queue[T]) IsShutDown() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.shutDown
}

// Join blocks until every item put has been marked with TaskDone, or ctx ends.
func (q *Queue[T]) Join(ctx context.Context) error {
	q.mu.Lock()
	ch := q.allDone
	q.mu.Unlock()
	return wait(ctx, ch, time.Time{})
}
