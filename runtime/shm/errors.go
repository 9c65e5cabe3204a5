package shm

import "errors"

// Sentinel errors of shared memory blocks. mgrgen registers every exported Err* variable
// of this package with mgr.RegisterError, so errors.Is works in every process.
var (
	// ErrUnsupported: shared memory blocks need Linux (memfd_create and procfs).
	ErrUnsupported = errors.New("shm: shared memory blocks are not supported on this platform")
	// ErrNotLocal: the manager runs on another machine (or in another PID namespace), so
	// its memory cannot be mapped here. Move the bytes through a method call instead.
	ErrNotLocal = errors.New("shm: the manager is not on this machine")
	// ErrAccess: this process may not open the manager's descriptors through
	// /proc/<pid>/fd (another user, a non-dumpable manager, or a hardened procfs).
	ErrAccess = errors.New("shm: access to the manager's memfd denied")
	// ErrReleased: the block was released (its last reference went) before it was opened.
	ErrReleased = errors.New("shm: block released")
	// ErrView: a typed view does not fit the block (its size or alignment).
	ErrView = errors.New("shm: view does not fit the block")
)
