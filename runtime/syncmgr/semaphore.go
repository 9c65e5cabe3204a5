package syncmgr

import (
	"context"
	"fmt"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Semaphore is a shared counting semaphore (Python's Semaphore). Release may raise the
// count above its initial value (a semaphore used as a signal). Permits taken by a
// session that ends before releasing them come back, with ErrAbandoned for whoever takes
// them next.
//
//mgr:expose typeid=syncmgr.Semaphore concurrent inline
type Semaphore struct {
	p *permits
}

// NewSemaphore returns a Semaphore with value permits; a negative value is ErrInvalid.
func NewSemaphore(value int) (*Semaphore, error) {
	if value < 0 {
		return nil, fmt.Errorf("%w: semaphore value %d < 0", ErrInvalid, value)
	}
	return &Semaphore{p: newPermits(value, 0, "semaphore permit")}, nil
}

// Acquire blocks until a permit is taken or ctx ends. ErrAbandoned as for Lock.Acquire.
func (s *Semaphore) Acquire(ctx context.Context) error {
	_, err := s.p.acquire(ctx, mgr.CallerOf(ctx), true, time.Time{})
	return err
}

// AcquireTimeout waits at most timeout (negative: no limit) and reports whether a permit
// was taken.
func (s *Semaphore) AcquireTimeout(ctx context.Context, timeout time.Duration) (bool, error) {
	return s.p.acquire(ctx, mgr.CallerOf(ctx), true, deadline(timeout))
}

// TryAcquire takes a permit if one is free, without waiting.
func (s *Semaphore) TryAcquire(ctx context.Context) (bool, error) {
	return s.p.acquire(ctx, mgr.CallerOf(ctx), false, time.Time{})
}

// Release returns n permits (Python's release(n)); n < 1 is ErrInvalid.
func (s *Semaphore) Release(ctx context.Context, n int) error {
	if n < 1 {
		return fmt.Errorf("%w: Semaphore.Release(%d)", ErrInvalid, n)
	}
	c := mgr.CallerOf(ctx)
	for range n {
		if err := s.p.release(c, nil); err != nil {
			return err
		}
	}
	return nil
}

// Value returns the number of free permits.
func (s *Semaphore) Value() int { return s.p.value() }

// BoundedSemaphore is a Semaphore whose count may never exceed its initial value
// (Python's BoundedSemaphore): a Release without a matching Acquire fails with
// ErrOverRelease.
//
//mgr:expose typeid=syncmgr.BoundedSemaphore concurrent inline
type BoundedSemaphore struct {
	p *permits
}

// NewBoundedSemaphore returns a BoundedSemaphore with value permits; a negative value is
// ErrInvalid.
func NewBoundedSemaphore(value int) (*BoundedSemaphore, error) {
	if value < 0 {
		return nil, fmt.Errorf("%w: semaphore value %d < 0", ErrInvalid, value)
	}
	return &BoundedSemaphore{p: newPermits(value, value, "semaphore permit")}, nil
}

// Acquire blocks until a permit is taken or ctx ends. ErrAbandoned as for Lock.Acquire.
func (s *BoundedSemaphore) Acquire(ctx context.Context) error {
	_, err := s.p.acquire(ctx, mgr.CallerOf(ctx), true, time.Time{})
	return err
}

// AcquireTimeout waits at most timeout (negative: no limit) and reports whether a permit
// was taken.
func (s *BoundedSemaphore) AcquireTimeout(ctx context.Context, timeout time.Duration) (bool, error) {
	return s.p.acquire(ctx, mgr.CallerOf(ctx), true, deadline(timeout))
}

// TryAcquire takes a permit if one is free, without waiting.
func (s *BoundedSemaphore) TryAcquire(ctx context.Context) (bool, error) {
	return s.p.acquire(ctx, mgr.CallerOf(ctx), false, time.Time{})
}

// Release returns one permit (Python's release()); with every permit already free it fails
// with ErrOverRelease.
func (s *BoundedSemaphore) Release(ctx context.Context) error {
	if err := s.p.release(mgr.CallerOf(ctx), ErrOverRelease); err != nil {
		return fmt.Errorf("%w: BoundedSemaphore.Release", err)
	}
	return nil
}

// Value returns the number of free permits.
func (s *BoundedSemaphore) Value() int { return s.p.value() }
