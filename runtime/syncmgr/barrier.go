package syncmgr

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Barrier makes a fixed number of parties wait for each other (Python's Barrier). A
// waiter that gives up (ctx, timeout) or whose session ends breaks the barrier, as a
// timeout does in Python, so the others do not wait forever.
//
//mgr:expose typeid=syncmgr.Barrier concurrent inline
type Barrier struct {
	mu      sync.Mutex
	parties int
	count   int
	broken  bool
	gen     *barrierGen
}

// barrierGen is one filling of the barrier; its done closes when it trips or breaks.
type barrierGen struct {
	done   chan struct{}
	broken bool
}

// NewBarrier returns a Barrier for parties parties; parties < 1 is ErrInvalid.
func NewBarrier(parties int) (*Barrier, error) {
	if parties < 1 {
		return nil, fmt.Errorf("%w: a barrier needs at least one party, not %d", ErrInvalid, parties)
	}
	return &Barrier{parties: parties, gen: &barrierGen{done: make(chan struct{})}}, nil
}

// Wait blocks until all parties have called Wait, and returns the caller's arrival
// index, 0 to Parties()-1. It fails with ErrBrokenBarrier if the barrier is or becomes
// broken; if ctx ends first, the error wraps both ErrBrokenBarrier and ctx's error.
func (b *Barrier) Wait(ctx context.Context) (int, error) {
	return b.wait(ctx, time.Time{})
}

// WaitTimeout is Wait with a manager-side timeout (negative: none); the timeout breaks
// the barrier, as in Python.
func (b *Barrier) WaitTimeout(ctx context.Context, timeout time.Duration) (int, error) {
	return b.wait(ctx, deadline(timeout))
}

func (b *Barrier) wait(ctx context.Context, dl time.Time) (int, error) {
	committed := false
	b.mu.Lock()
	for {
		if b.broken {
			b.mu.Unlock()
			return 0, ErrBrokenBarrier
		}
		if committed || b.count+1 < b.parties {
			break
		}
		// This arrival trips the barrier, which nothing can take back: the caller must
		// hear that it did, not that its call was cancelled while the others went on
		// (mgr.Commit). Commit takes the session's lock, so not under b.mu; whoever
		// arrives meanwhile is seen when the loop looks again.
		b.mu.Unlock()
		if err := mgr.Commit(ctx); err != nil {
			b.mu.Lock()
			defer b.mu.Unlock()
			if !b.broken {
				b.breakLocked() // it gave up: as any waiter that gives up, it breaks the barrier
			}
			return 0, fmt.Errorf("%w: %w", ErrBrokenBarrier, err)
		}
		committed = true
		b.mu.Lock()
	}
	g := b.gen
	idx := b.count
	b.count++
	if b.count == b.parties {
		close(g.done)
		b.gen = &barrierGen{done: make(chan struct{})}
		b.count = 0
		b.mu.Unlock()
		return idx, nil
	}
	b.mu.Unlock()

	err := wait(ctx, g.done, dl)
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-g.done: // tripped or broken, possibly just as we gave up
		if g.broken {
			return 0, ErrBrokenBarrier
		}
		return idx, nil
	default:
	}
	b.breakLocked()
	if err == errTimedOut {
		return 0, fmt.Errorf("%w: timed out", ErrBrokenBarrier)
	}
	return 0, fmt.Errorf("%w: %w", ErrBrokenBarrier, err)
}

// breakLocked breaks the current filling: its waiters get ErrBrokenBarrier.
func (b *Barrier) breakLocked() {
	b.broken = true
	b.gen.broken = true
	close(b.gen.done)
	b.gen = &barrierGen{done: make(chan struct{})}
	b.count = 0
}

// Abort breaks the barrier: current and future waiters get ErrBrokenBarrier until Reset.
func (b *Barrier) Abort() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.broken {
		b.breakLocked()
	}
}

// Reset returns the barrier to its empty state; parties waiting on it get
// ErrBrokenBarrier.
func (b *Barrier) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.count > 0 {
		b.breakLocked()
	}
	b.broken = false
}

// Parties returns the number of parties the barrier needs.
func (b *Barrier) Parties() int { return b.parties }

// NWaiting returns the number of parties waiting now.
func (b *Barrier) NWaiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.count
}

// Broken reports whether the barrier is broken.
func (b *Barrier) Broken() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.broken
}
