package pool

import "errors"

// Sentinel errors of the pool. mgrgen registers every exported Err* variable of this
// package with mgr.RegisterError, so errors.Is works in every process.
var (
	// ErrWorkerDied: the worker process running a task died (it was killed, crashed or
	// called os.Exit) before it reported the task's result, and the task had no retries
	// left. The error's message names the function, the items and the worker's pid.
	ErrWorkerDied = errors.New("pool: worker process died while running the task")
	// ErrClosed: the pool accepts no more tasks (CloseTasks was called).
	ErrClosed = errors.New("pool: closed")
	// ErrTerminated: the pool was terminated (Terminate, or its owner's session ended)
	// before the task finished.
	ErrTerminated = errors.New("pool: terminated")
	// ErrUnknownFunc: no function of that name is registered in the worker process
	// (register with pool.Register from an init function or a package-level variable).
	ErrUnknownFunc = errors.New("pool: function not registered in the worker process")
	// ErrCancelled: the batch was cancelled by its submitter (an iterator abandoned early)
	// or the submitter's session ended.
	ErrCancelled = errors.New("pool: batch cancelled")
	// ErrNotOwner: a method only the pool's owner may call (WorkersStopped).
	ErrNotOwner = errors.New("pool: only the owner may do this")
)
