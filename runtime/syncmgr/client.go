package syncmgr

import (
	"context"
	"errors"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Client-side conveniences over the generated proxies.

// Start starts a manager as a child process of this binary (main must call
// mgr.RunChild first) and connects to it: Python's SyncManager().start(). Every type of
// this package, and the instantiations registered in init, are available in it.
func Start(ctx context.Context, opts mgr.Options) (*mgr.Manager, error) {
	return mgr.Start(ctx, opts)
}

// StartInProcess serves a manager from goroutines of this process and connects to it.
func StartInProcess(opts mgr.Options) (*mgr.Manager, error) {
	return mgr.StartInProcess(opts)
}

// Connect connects to a running manager (Python's SyncManager(address, authkey).connect()).
func Connect(ctx context.Context, opts mgr.Options) (*mgr.Client, error) {
	return mgr.Connect(ctx, opts)
}

// CreateJoinableQueue creates a Queue in the manager (Python's JoinableQueue; Python's
// SyncManager serves Queue and JoinableQueue with the same class, and every Queue here
// has TaskDone and Join).
func CreateJoinableQueue[T any](ctx context.Context, c *mgr.Client, maxsize int) (*QueueProxy[T], error) {
	return CreateQueue[T](ctx, c, maxsize)
}

// CreateConditionOwnLock creates a Condition with an RLock of its own (Python's
// Condition()).
func CreateConditionOwnLock(ctx context.Context, c *mgr.Client) (*ConditionProxy, error) {
	return CreateCondition(ctx, c, nil, nil)
}

// Acquirer is what WithLock needs; LockProxy, RLockProxy, ConditionProxy and
// BoundedSemaphoreProxy satisfy it.
type Acquirer interface {
	Acquire(ctx context.Context) error
	Release(ctx context.Context) error
}

// WithLock runs fn while holding l, the `with lock:` of Python. An abandoned lock is
// still held, so fn runs, and WithLock returns fn's error joined with the ErrAbandoned
// so the caller learns the protected state may need repair. The lock is released with a
// fresh context even when ctx has ended, so a cancelled fn does not leak the lock.
func WithLock(ctx context.Context, l Acquirer, fn func() error) error {
	aerr := l.Acquire(ctx)
	if aerr != nil && !errors.Is(aerr, ErrAbandoned) {
		return aerr
	}
	ferr := fn()
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return errors.Join(aerr, ferr, l.Release(uctx))
}

// WaitFor waits on cond until pred returns true, re-checking after every wakeup, and
// returns pred's last result: Python's Condition.wait_for(predicate, timeout), which is
// also evaluated on the client. The caller must hold cond's lock; pred runs with it
// held. A negative timeout waits without limit (ctx still bounds it).
func WaitFor(ctx context.Context, cond *ConditionProxy, timeout time.Duration, pred func() (bool, error)) (bool, error) {
	var end time.Time
	if timeout >= 0 {
		end = time.Now().Add(timeout)
	}
	for {
		ok, err := pred()
		if err != nil || ok {
			return ok, err
		}
		wait := time.Duration(-1)
		if !end.IsZero() {
			wait = time.Until(end)
			if wait <= 0 {
				return false, nil
			}
		}
		if _, err := cond.WaitTimeout(ctx, wait); err != nil && !errors.Is(err, ErrAbandoned) {
			return false, err
		}
	}
}
