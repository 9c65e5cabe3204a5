package syncmgr

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Lock is a shared mutual-exclusion lock (Python's multiprocessing Lock). Any session
// may release it, as in Python; the holding session is remembered only so that the lock
// comes back, with ErrAbandoned for the next acquirer, if that session ends holding it.
//
//mgr:expose typeid=syncmgr.Lock concurrent inline
type Lock struct {
	p *permits
}

// NewLock returns an unlocked Lock.
func NewLock() *Lock { return &Lock{p: newPermits(1, 1, "lock")} }

// Acquire blocks until the lock is acquired or ctx ends. An error wrapping ErrAbandoned
// means the lock IS held by the caller, but its previous holder died holding it; any
// other error means it is not held.
func (l *Lock) Acquire(ctx context.Context) error {
	_, err := l.p.acquire(ctx, mgr.CallerOf(ctx), true, time.Time{})
	return err
}

// AcquireTimeout waits at most timeout (negative: no limit) for the lock, and reports
// whether it got it (Python's acquire(timeout=...)). The manager decides the timeout,
// so a lock acquired at the last moment is never lost in transit. ErrAbandoned as for
// Acquire (the proxy then returns false with it: the error decides).
func (l *Lock) AcquireTimeout(ctx context.Context, timeout time.Duration) (bool, error) {
	return l.p.acquire(ctx, mgr.CallerOf(ctx), true, deadline(timeout))
}

// TryAcquire takes the lock if it is free, without waiting (Python's
// acquire(blocking=False)). ErrAbandoned as for Acquire.
func (l *Lock) TryAcquire(ctx context.Context) (bool, error) {
	return l.p.acquire(ctx, mgr.CallerOf(ctx), false, time.Time{})
}

// Release releases the lock (Python's release()). Any session may release it, as in
// Python; releasing an unlocked lock fails with ErrNotHeld.
func (l *Lock) Release(ctx context.Context) error {
	if err := l.p.release(mgr.CallerOf(ctx), ErrNotHeld); err != nil {
		return fmt.Errorf("%w: Lock.Release", err)
	}
	return nil
}

// Locked reports whether the lock is held.
func (l *Lock) Locked() bool { return l.p.value() == 0 }

// Condition support: a Lock is owned by the session that acquired it.

func (l *Lock) owned(c mgr.Caller) bool { return l.p.heldBy(c.ID()) }

func (l *Lock) saveRelease(c mgr.Caller) (int, error) {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	if !l.p.releaseFromLocked(c.ID(), true) {
		return 0, ErrNotOwner
	}
	return 1, nil
}

func (l *Lock) restore(ctx context.Context, c mgr.Caller, _ int) error {
	_, err := l.p.acquire(ctx, c, true, time.Time{})
	return err
}

// RLock is a shared re-entrant lock (Python's RLock). Its owner is a session: every
// goroutine of the owning process may re-acquire it, and only the owner may release it.
// If the owner's session ends holding it, the lock is freed and the next acquirer gets
// it with ErrAbandoned.
//
//mgr:expose typeid=syncmgr.RLock concurrent inline
type RLock struct {
	mu     sync.Mutex
	locked bool
	owner  uint64
	count  int
	// grant numbers each taking of the lock (from 1). A woken waiter compares it with
	// the number of its own grant: the lock may have been handed on meanwhile, even to
	// another goroutine of the same session, and the owner's ID cannot tell.
	grant     uint64
	cancel    func() // stops the owner's session-end callback
	waiters   []*rlockWaiter
	abandoned bool      // the next acquirer is told
	since     time.Time // when the owner took it, for MgrState
}

// rlockWaiter is an acquirer queued on an RLock. The grant is complete when ready
// closes: the lock is the waiter's with its own count n, so the woken goroutine has
// nothing to add, and nothing to check unless it gave up.
type rlockWaiter struct {
	caller    mgr.Caller
	n         int           // the count to take: 1, or a Condition's saved count
	ready     chan struct{} // closed when granted
	grant     uint64        // the lock's grant number for this waiter; 0 until granted
	abandoned bool
	since     time.Time // for MgrState
}

// NewRLock returns an unlocked RLock.
func NewRLock() *RLock { return &RLock{} }

// Acquire blocks until the caller's session owns the lock (at once if it already does:
// the count goes up) or ctx ends. ErrAbandoned as for Lock.Acquire.
func (r *RLock) Acquire(ctx context.Context) error {
	_, err := r.acquire(ctx, mgr.CallerOf(ctx), true, time.Time{}, 1)
	return err
}

// AcquireTimeout waits at most timeout (negative: no limit) and reports whether the
// caller's session owns the lock.
func (r *RLock) AcquireTimeout(ctx context.Context, timeout time.Duration) (bool, error) {
	return r.acquire(ctx, mgr.CallerOf(ctx), true, deadline(timeout), 1)
}

// TryAcquire takes the lock if it is free or already owned by the caller's session.
func (r *RLock) TryAcquire(ctx context.Context) (bool, error) {
	return r.acquire(ctx, mgr.CallerOf(ctx), false, time.Time{}, 1)
}

// Release undoes one Acquire of the caller's session (Python's release()); the lock is
// free when the count reaches zero. A session that does not own the lock gets ErrNotOwner.
func (r *RLock) Release(ctx context.Context) error {
	c := mgr.CallerOf(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.locked || r.owner != c.ID() {
		return fmt.Errorf("%w: RLock.Release", ErrNotOwner)
	}
	r.count--
	if r.count == 0 {
		r.unlockLocked(false)
	}
	return nil
}

// Locked reports whether some session owns the lock.
func (r *RLock) Locked() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.locked
}

// Count returns how many times the owner has acquired the lock (0 when free).
func (r *RLock) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count
}

func (r *RLock) acquire(ctx context.Context, c mgr.Caller, block bool, dl time.Time, n int) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	r.mu.Lock()
	if r.locked && r.owner == c.ID() {
		r.count += n
		g := r.grant
		r.mu.Unlock()
		r.undoable(ctx, g, n, false)
		return true, nil
	}
	if !r.locked && len(r.waiters) == 0 {
		ab := r.abandoned
		r.abandoned = false
		g := r.lockLocked(c, n)
		r.mu.Unlock()
		r.undoable(ctx, g, n, ab)
		return true, rlockAbandoned(ab)
	}
	if !block {
		r.mu.Unlock()
		return false, nil
	}
	w := &rlockWaiter{caller: c, n: n, ready: make(chan struct{}), since: time.Now()}
	r.waiters = append(r.waiters, w)
	r.mu.Unlock()

	err := wait(ctx, w.ready, dl)
	r.mu.Lock()
	defer r.mu.Unlock()
	if w.grant == 0 {
		for i, x := range r.waiters {
			if x == w {
				r.waiters = append(r.waiters[:i], r.waiters[i+1:]...)
				break
			}
		}
		if err == errTimedOut {
			return false, nil
		}
		return false, err
	}
	if err != nil && err != errTimedOut {
		// Granted as the caller gave up: the client will not see the reply, so undo this
		// waiter's n acquisitions, and hand the lock on (still abandoned, if it was) when
		// the session holds it no more. Only if the lock still holds this grant: since
		// the grant it may have been released and handed on, to another session or to
		// another waiter of this one, and that owner's count is not ours to touch. Other
		// goroutines of the session that re-entered on this grant keep theirs.
		r.giveBackLocked(w.grant, w.n, w.abandoned)
		return false, err
	}
	r.undoable(ctx, w.grant, w.n, w.abandoned)
	return true, rlockAbandoned(w.abandoned)
}

// giveBackLocked undoes n acquisitions made under grant, if the lock still holds that
// grant, and hands the lock on (still abandoned, if it was) when none are left.
func (r *RLock) giveBackLocked(grant uint64, n int, abandoned bool) {
	if r.locked && r.grant == grant {
		r.count -= n
		if r.count <= 0 {
			r.unlockLocked(abandoned)
		}
	}
}

// undoable registers the undoing of n acquisitions under grant, should the caller never
// learn that it got them (mgr.Undo).
func (r *RLock) undoable(ctx context.Context, grant uint64, n int, abandoned bool) {
	mgr.Undo(ctx, func() {
		r.mu.Lock()
		r.giveBackLocked(grant, n, abandoned)
		r.mu.Unlock()
	})
}

func rlockAbandoned(ab bool) error {
	if ab {
		return fmt.Errorf("%w (the rlock is now held by the caller)", ErrAbandoned)
	}
	return nil
}

// lockLocked gives the free lock to c's session with count n, and returns the number
// of this grant.
func (r *RLock) lockLocked(c mgr.Caller, n int) uint64 {
	id := c.ID()
	r.grant++
	r.locked, r.owner, r.count, r.since = true, id, n, time.Now()
	r.cancel = onSessionEnd(c, func() { r.sessionEnded(c, id) })
	return r.grant
}

// unlockLocked frees the lock: to the oldest waiter, with the count it waits for, or
// for anyone.
func (r *RLock) unlockLocked(abandoned bool) {
	if r.cancel != nil {
		r.cancel()
		r.cancel = nil
	}
	r.locked, r.owner, r.count = false, 0, 0
	if len(r.waiters) > 0 {
		w := r.waiters[0]
		r.waiters = r.waiters[1:]
		w.abandoned = abandoned
		w.grant = r.lockLocked(w.caller, w.n)
		close(w.ready)
		return
	}
	r.abandoned = abandoned
}

func (r *RLock) sessionEnded(c mgr.Caller, id uint64) {
	r.mu.Lock()
	n := 0
	if r.locked && r.owner == id {
		n = r.count
		r.unlockLocked(true)
	}
	r.mu.Unlock()
	if n > 0 { // outside the lock: the logger is the user's code
		c.Logger().Warn("syncmgr: rlock abandoned: its owner's session ended holding it", slog.Int("count", n))
	}
}

// Condition support.

func (r *RLock) owned(c mgr.Caller) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.locked && r.owner == c.ID()
}

func (r *RLock) saveRelease(c mgr.Caller) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.locked || r.owner != c.ID() {
		return 0, ErrNotOwner
	}
	n := r.count
	r.unlockLocked(false)
	return n, nil
}

func (r *RLock) restore(ctx context.Context, c mgr.Caller, n int) error {
	_, err := r.acquire(ctx, c, true, time.Time{}, n)
	return err
}
