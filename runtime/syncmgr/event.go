package syncmgr

import (
	"context"
	"sync"
	"time"
)

// Event is a shared flag that sessions can wait for (Python's Event).
//
//mgr:expose typeid=syncmgr.Event concurrent inline
type Event struct {
	mu  sync.Mutex
	set bool
	ch  chan struct{} // closed while set; a fresh one after Clear
	// waiting counts the calls waiting for the flag, for MgrState.
	waiting int
}

// NewEvent returns a cleared Event.
func NewEvent() *Event { return &Event{ch: make(chan struct{})} }

// Set sets the flag and wakes every waiter.
func (e *Event) Set() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.set {
		e.set = true
		close(e.ch)
	}
}

// Clear resets the flag.
func (e *Event) Clear() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.set {
		e.set = false
		e.ch = make(chan struct{})
	}
}

// IsSet reports whether the flag is set.
func (e *Event) IsSet() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.set
}

// Wait blocks until the flag is set or ctx ends.
func (e *Event) Wait(ctx context.Context) error {
	_, err := e.wait(ctx, time.Time{})
	return err
}

// WaitTimeout waits at most timeout (negative: no limit) and returns the flag (Python's
// wait(timeout)).
func (e *Event) WaitTimeout(ctx context.Context, timeout time.Duration) (bool, error) {
	return e.wait(ctx, deadline(timeout))
}

func (e *Event) wait(ctx context.Context, dl time.Time) (bool, error) {
	e.mu.Lock()
	ch := e.ch
	e.waiting++
	e.mu.Unlock()
	err := wait(ctx, ch, dl)
	e.mu.Lock()
	e.waiting--
	e.mu.Unlock()
	switch err {
	case nil:
		return true, nil
	case errTimedOut:
		return e.IsSet(), nil
	default:
		return false, err
	}
}
