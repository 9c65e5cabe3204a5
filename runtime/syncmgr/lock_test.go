package syncmgr_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

func TestLockSessions(t *testing.T) {
	ctx := testCtx(t)
	m, c2 := startManager(t)
	l := must[*syncmgr.LockProxy](t)(syncmgr.CreateLock(ctx, m.Client()))
	l2 := must[*syncmgr.LockProxy](t)(syncmgr.AttachLock(ctx, c2, must[mgr.Token](t)(l.Token(ctx))))

	check(t, l.Acquire(ctx))
	if ok, err := l2.TryAcquire(ctx); ok || err != nil {
		t.Fatalf("TryAcquire of a held lock = %v, %v", ok, err)
	}
	if ok, err := l2.AcquireTimeout(ctx, 20*time.Millisecond); ok || err != nil {
		t.Fatalf("AcquireTimeout of a held lock = %v, %v", ok, err)
	}
	// A client-side deadline reaches the manager and the waiter leaves the queue.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	if err := l2.Acquire(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire with a short ctx: %v", err)
	}
	cancel()
	// Any session may release a Lock (Python semantics); a second release errors.
	check(t, l2.Release(ctx))
	if err := l.Release(ctx); !errors.Is(err, syncmgr.ErrNotHeld) {
		t.Fatalf("second Release: %v, want ErrNotHeld", err)
	}
	// A waiter gets the lock when it is released.
	check(t, l.Acquire(ctx))
	got := make(chan error, 1)
	go func() { got <- l2.Acquire(ctx) }()
	check(t, l.Release(ctx))
	check(t, <-got)
	if locked := must[bool](t)(l.Locked(ctx)); !locked {
		t.Fatal("Locked = false while held")
	}
	check(t, l.Release(ctx))
	ran := false
	check(t, syncmgr.WithLock(ctx, l, func() error { ran = true; return nil }))
	if !ran || must[bool](t)(l.Locked(ctx)) {
		t.Fatalf("WithLock: ran %v, locked after", ran)
	}
}

func TestLockAbandonedWhenSessionCloses(t *testing.T) {
	ctx := testCtx(t)
	m, c2 := startManager(t)
	l := must[*syncmgr.LockProxy](t)(syncmgr.CreateLock(ctx, m.Client()))
	l2 := must[*syncmgr.LockProxy](t)(syncmgr.AttachLock(ctx, c2, must[mgr.Token](t)(l.Token(ctx))))
	check(t, l2.Acquire(ctx))
	got := make(chan error, 1)
	go func() { got <- l.Acquire(ctx) }() // waits in the queue
	c2.Close()
	if err := <-got; !errors.Is(err, syncmgr.ErrAbandoned) {
		t.Fatalf("Acquire after the holder's session ended: %v, want ErrAbandoned", err)
	}
	// ErrAbandoned means the lock is held by us.
	if ok, _ := l.TryAcquire(ctx); ok {
		t.Fatal("TryAcquire succeeded: the abandoned lock was not handed to the waiter")
	}
	check(t, l.Release(ctx))
	// The abandonment is reported once.
	check(t, l.Acquire(ctx))
	check(t, l.Release(ctx))
}
