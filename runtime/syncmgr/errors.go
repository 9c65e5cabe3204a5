package syncmgr

import (
	"context"
	"errors"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Sentinel errors of the shared types. mgrgen registers every exported Err* variable of
// this package with mgr.RegisterError, so errors.Is works on a client as in the manager.
var (
	// ErrAbandoned is returned by an acquire that succeeded, but only because the
	// previous holder's session ended while it held the lock or permit. The caller holds
	// the lock; the state the lock protects may be inconsistent.
	ErrAbandoned = errors.New("syncmgr: lock abandoned by a session that ended while holding it")
	// ErrNotHeld: Release of a Lock that is not locked (Python's RuntimeError
	// "release unlocked lock").
	ErrNotHeld = errors.New("syncmgr: release of an unlocked lock")
	// ErrNotOwner: Release of an RLock, or Wait/Notify on a Condition, by a session that
	// does not hold the lock (Python's "cannot release un-acquired lock").
	ErrNotOwner = errors.New("syncmgr: lock not held by this session")
	// ErrOverRelease: a BoundedSemaphore released more often than acquired (Python's
	// ValueError "Semaphore released too many times").
	ErrOverRelease = errors.New("syncmgr: semaphore released too many times")
	// ErrBrokenBarrier: the barrier is broken (aborted, reset while waited on, or a
	// waiter gave up or died), Python's BrokenBarrierError.
	ErrBrokenBarrier = errors.New("syncmgr: barrier is broken")
	// ErrEmpty: a non-blocking or timed Get found the queue empty (Python's queue.Empty).
	ErrEmpty = errors.New("syncmgr: queue is empty")
	// ErrFull: a non-blocking or timed Put found the queue full (Python's queue.Full).
	ErrFull = errors.New("syncmgr: queue is full")
	// ErrShutDown: Put on a queue that has been shut down, or Get on one shut down and
	// empty (Python 3.13's queue.ShutDown).
	ErrShutDown = errors.New("syncmgr: queue is shut down")
	// ErrTaskDone: TaskDone called more times than items were put (Python's ValueError
	// "task_done() called too many times").
	ErrTaskDone = errors.New("syncmgr: TaskDone called too many times")
	// ErrNoAttribute: a Namespace has no attribute of that name (Python's AttributeError).
	ErrNoAttribute = errors.New("syncmgr: no such attribute")
	// ErrNoKey: a Dict has no such key, or a Set no such element (Python's KeyError).
	ErrNoKey = errors.New("syncmgr: no such key")
	// ErrIndex: an index is out of range (Python's IndexError).
	ErrIndex = errors.New("syncmgr: index out of range")
	// ErrNotFound: List.Index or List.Remove did not find the value (Python's ValueError
	// "x not in list").
	ErrNotFound = errors.New("syncmgr: value not found")
	// ErrNotNumber: AddNumber on a value that is not a number, or with a delta of a
	// kind that cannot be added to it.
	ErrNotNumber = errors.New("syncmgr: not a number")
	// ErrNotOrdered: Sort on values that have no natural order (only integers, floats
	// and strings, of one kind per list, are ordered).
	ErrNotOrdered = errors.New("syncmgr: values are not ordered")
	// ErrInvalid: an argument is invalid (a negative semaphore value, a barrier of no
	// parties, a negative size).
	ErrInvalid = errors.New("syncmgr: invalid argument")
)

// The context errors a blocking method returns when the client's cancel or deadline
// reaches the manager keep their identity across processes, so errors.Is(err,
// context.DeadlineExceeded) holds on the client whichever side noticed first.
func init() {
	mgr.RegisterError("context.Canceled", context.Canceled)
	mgr.RegisterError("context.DeadlineExceeded", context.DeadlineExceeded)
}
