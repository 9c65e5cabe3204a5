package syncmgr

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Condition is a shared condition variable (Python's Condition), over a shared Lock or
// RLock, or over an RLock of its own. Wait, Notify and NotifyAll need the caller's session
// to hold the lock.
//
//mgr:expose typeid=syncmgr.Condition concurrent inline
type Condition struct {
	lock condLock

	mu      sync.Mutex
	waiters []*condWaiter
}

// condLock is what a Condition needs of its lock: whether a session holds it, and
// releasing it entirely for a Wait and taking it back (an RLock keeps its count).
type condLock interface {
	owned(c mgr.Caller) bool
	saveRelease(c mgr.Caller) (int, error)
	restore(ctx context.Context, c mgr.Caller, saved int) error
	acquire4cond(ctx context.Context, c mgr.Caller, block bool, dl time.Time) (bool, error)
	release4cond(c mgr.Caller) error
	isLocked() bool
}

type condWaiter struct {
	ch       chan struct{}
	notified bool
	session  uint64    // for MgrState
	since    time.Time // for MgrState
}

// NewCondition returns a Condition over lock or rlock (a shared Lock or RLock proxy
// passed by a client), or over a new RLock of its own when both are nil, as Python's
// Condition() does. Passing both is ErrInvalid.
func NewCondition(lock *Lock, rlock *RLock) (*Condition, error) {
	switch {
	case lock != nil && rlock != nil:
		return nil, fmt.Errorf("%w: a Condition takes a Lock or an RLock, not both", ErrInvalid)
	case lock != nil:
		return &Condition{lock: lock}, nil
	case rlock != nil:
		return &Condition{lock: rlock}, nil
	}
	return &Condition{lock: NewRLock()}, nil
}

// Acquire acquires the underlying lock (see Lock.Acquire and RLock.Acquire).
func (c *Condition) Acquire(ctx context.Context) error {
	_, err := c.lock.acquire4cond(ctx, mgr.CallerOf(ctx), true, time.Time{})
	return err
}

// AcquireTimeout acquires the underlying lock, waiting at most timeout (negative: no
// limit), and reports whether it got it.
func (c *Condition) AcquireTimeout(ctx context.Context, timeout time.Duration) (bool, error) {
	return c.lock.acquire4cond(ctx, mgr.CallerOf(ctx), true, deadline(timeout))
}

// TryAcquire acquires the underlying lock if that needs no waiting.
func (c *Condition) TryAcquire(ctx context.Context) (bool, error) {
	return c.lock.acquire4cond(ctx, mgr.CallerOf(ctx), false, time.Time{})
}

// Release releases the underlying lock (Python's release()).
func (c *Condition) Release(ctx context.Context) error {
	return c.lock.release4cond(mgr.CallerOf(ctx))
}

// Locked reports whether the underlying lock is held.
func (c *Condition) Locked() bool { return c.lock.isLocked() }

// Wait releases the lock, waits to be notified, and re-acquires the lock before it
// returns (Python's wait()). If ctx ends first, Wait returns its error and the caller
// does NOT hold the lock; ErrAbandoned means it does, as for Lock.Acquire.
func (c *Condition) Wait(ctx context.Context) error {
	_, err := c.wait(ctx, time.Time{})
	return err
}

// WaitTimeout is Wait with a manager-side timeout (negative: none): it reports whether
// it was notified (false: the timeout passed), and holds the lock again either way,
// like Python's wait(timeout).
func (c *Condition) WaitTimeout(ctx context.Context, timeout time.Duration) (bool, error) {
	return c.wait(ctx, deadline(timeout))
}

func (c *Condition) wait(ctx context.Context, dl time.Time) (bool, error) {
	caller := mgr.CallerOf(ctx)
	if !c.lock.owned(caller) {
		return false, fmt.Errorf("%w: Condition.Wait on an un-acquired lock", ErrNotOwner)
	}
	// Join the waiters before releasing the lock, so a Notify right after the release
	// cannot be missed.
	w := &condWaiter{ch: make(chan struct{}), session: caller.ID(), since: time.Now()}
	c.mu.Lock()
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()
	saved, err := c.lock.saveRelease(caller)
	if err != nil {
		c.removeWaiter(w)
		return false, err
	}
	werr := wait(ctx, w.ch, dl)
	notified := c.removeWaiter(w)
	if werr != nil && werr != errTimedOut && !notified {
		return false, werr // cancelled, or the session ended: leave without the lock
	}
	if err := c.lock.restore(ctx, caller, saved); err != nil && !errors.Is(err, ErrAbandoned) {
		if notified {
			c.notify(1) // this waiter cannot act on its notification: pass it on
		}
		return false, err
	} else if err != nil {
		return notified, err
	}
	return notified, nil
}

// removeWaiter takes w out of the queue and reports whether it had been notified.
func (c *Condition) removeWaiter(w *condWaiter) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.waiters {
		if x == w {
			c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
			break
		}
	}
	return w.notified
}

// Notify wakes up to n waiters (Python's notify(n)); the caller must hold the lock.
func (c *Condition) Notify(ctx context.Context, n int) error {
	if !c.lock.owned(mgr.CallerOf(ctx)) {
		return fmt.Errorf("%w: Condition.Notify on an un-acquired lock", ErrNotOwner)
	}
	c.notify(n)
	return nil
}

// NotifyAll wakes every waiter; the caller must hold the lock.
func (c *Condition) NotifyAll(ctx context.Context) error {
	if !c.lock.owned(mgr.CallerOf(ctx)) {
		return fmt.Errorf("%w: Condition.NotifyAll on an un-acquired lock", ErrNotOwner)
	}
	c.notify(-1)
	return nil
}

// Waiting returns the number of waiters (useful to know every worker is parked).
func (c *Condition) Waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

func (c *Condition) notify(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.waiters {
		if n == 0 {
			break
		}
		if !w.notified {
			w.notified = true
			close(w.ch)
			n--
		}
	}
	// Notified waiters leave the queue themselves (removeWaiter); drop them here too so
	// a later Notify counts only those still waiting.
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.notified {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// The condLock plumbing of Lock and RLock.

func (l *Lock) acquire4cond(ctx context.Context, c mgr.Caller, block bool, dl time.Time) (bool, error) {
	return l.p.acquire(ctx, c, block, dl)
}
func (l *Lock) release4cond(c mgr.Caller) error {
	if err := l.p.release(c, ErrNotHeld); err != nil {
		return fmt.Errorf("%w: Condition.Release", err)
	}
	return nil
}
func (l *Lock) isLocked() bool { return l.p.value() == 0 }

func (r *RLock) acquire4cond(ctx context.Context, c mgr.Caller, block bool, dl time.Time) (bool, error) {
	return r.acquire(ctx, c, block, dl, 1)
}
func (r *RLock) release4cond(c mgr.Caller) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.locked || r.owner != c.ID() {
		return fmt.Errorf("%w: Condition.Release", ErrNotOwner)
	}
	r.count--
	if r.count == 0 {
		r.unlockLocked(false)
	}
	return nil
}
func (r *RLock) isLocked() bool { return r.Locked() }
