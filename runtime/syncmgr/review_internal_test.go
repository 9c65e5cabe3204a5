package syncmgr

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// These tests force one interleaving that sockets cannot pin down: a waiter is granted
// a lock (or permit) at the moment it gives up, or while another goroutine of its session
// re-enters. They take the object's own mutex to hold the waiter between its wake-up and
// its bookkeeping; the Callers are real sessions of an in-process manager.

const probeTypeID = "syncmgr.reviewCallerProbe"

var probeCallers = make(chan mgr.Caller, 16)

func init() {
	mgr.Register(&mgr.TypeDesc{
		TypeID: probeTypeID,
		New:    func(ctx context.Context, args *mgr.Decoder) (any, error) { return new(int), args.Done() },
		Methods: []mgr.Method{{Name: "Caller", Call: func(ctx context.Context, _ any, args *mgr.Decoder, _ *mgr.Encoder) error {
			probeCallers <- mgr.CallerOf(ctx)
			return args.Done()
		}}},
	})
}

// twoCallers returns the Callers of two live sessions of one manager.
func twoCallers(t *testing.T) (mgr.Caller, mgr.Caller) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := StartInProcess(mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	c2, err := Connect(ctx, m.Options())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c2.Close() })
	var out [2]mgr.Caller
	for i, c := range []*mgr.Client{m.Client(), c2} {
		h, err := c.Create(ctx, probeTypeID, nil)
		if err != nil {
			t.Fatal(err)
		}
		pb := mgr.MakeProxyBase(h)
		call := pb.Begin(0)
		if _, err := call.Do(ctx); err != nil {
			t.Fatal(err)
		}
		if err := call.End(); err != nil {
			t.Fatal(err)
		}
		out[i] = <-probeCallers
	}
	if out[0].ID() == out[1].ID() {
		t.Fatal("two sessions with one ID")
	}
	return out[0], out[1]
}

// parked polls n() (read under the object's mutex) until it reports one waiter.
func parked(t *testing.T, n func() int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for n() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the waiter never queued")
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// A lock whose holder's session ends is handed to the oldest waiter marked abandoned. If
// that waiter gives up at that moment it hands the lock on, and the next acquirer must
// still be told it was abandoned.
func TestPermitsAbandonedGrantToCancelledWaiterStaysAbandoned(t *testing.T) {
	holder, waiter := twoCallers(t)
	bg := context.Background()
	exercised := 0
	for range 10 {
		p := newPermits(1, 1, "lock")
		if ok, err := p.acquire(bg, holder, true, time.Time{}); !ok || err != nil {
			t.Fatalf("first acquire = %v, %v", ok, err)
		}
		wctx, cancel := context.WithCancel(bg)
		res := make(chan error, 1)
		go func() { _, err := p.acquire(wctx, waiter, true, time.Time{}); res <- err }()
		parked(t, func() int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.waiters) })

		p.mu.Lock()
		cancel() // the waiter gives up just as ...
		h := p.held[holder.ID()]
		delete(p.held, holder.ID()) // ... the holder's session ends (sessionEnded's work)
		h.cancel()
		p.freeLocked(true)
		p.mu.Unlock()
		err := <-res
		if !errors.Is(err, context.Canceled) {
			// The waiter saw its grant before the cancellation and holds the lock.
			if !errors.Is(err, ErrAbandoned) {
				t.Fatalf("waiter: %v, want ErrAbandoned or context.Canceled", err)
			}
			continue
		}
		exercised++
		ok, err := p.acquire(bg, holder, false, time.Time{})
		if !ok || !errors.Is(err, ErrAbandoned) {
			t.Fatalf("next acquire after the cancelled waiter handed the abandoned lock on = %v, %v; want true, ErrAbandoned", ok, err)
		}
	}
	if exercised == 0 {
		t.Fatal("the cancelled-at-grant interleaving never happened")
	}
}

// The same for an RLock.
func TestRLockAbandonedGrantToCancelledWaiterStaysAbandoned(t *testing.T) {
	holder, waiter := twoCallers(t)
	bg := context.Background()
	exercised := 0
	for range 10 {
		r := NewRLock()
		if ok, err := r.acquire(bg, holder, true, time.Time{}, 1); !ok || err != nil {
			t.Fatalf("first acquire = %v, %v", ok, err)
		}
		wctx, cancel := context.WithCancel(bg)
		res := make(chan error, 1)
		go func() { _, err := r.acquire(wctx, waiter, true, time.Time{}, 1); res <- err }()
		parked(t, func() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.waiters) })

		r.mu.Lock()
		cancel()             // the waiter gives up just as ...
		r.unlockLocked(true) // ... the owner's session ends (sessionEnded's work)
		r.mu.Unlock()
		err := <-res
		if !errors.Is(err, context.Canceled) {
			if !errors.Is(err, ErrAbandoned) {
				t.Fatalf("waiter: %v, want ErrAbandoned or context.Canceled", err)
			}
			continue
		}
		exercised++
		ok, err := r.acquire(bg, holder, false, time.Time{}, 1)
		if !ok || !errors.Is(err, ErrAbandoned) {
			t.Fatalf("next acquire after the cancelled waiter handed the abandoned rlock on = %v, %v; want true, ErrAbandoned", ok, err)
		}
	}
	if exercised == 0 {
		t.Fatal("the cancelled-at-grant interleaving never happened")
	}
}

// An RLock's owner is a session, so another goroutine of the session a waiter belongs to
// may re-enter the lock between the grant and the waiter's wake-up. The waiter must add
// its acquisition to the count, not overwrite it; and if it gave up meanwhile, undo only
// its own acquisition.
func TestRLockGrantRacingReentry(t *testing.T) {
	other, sess := twoCallers(t)
	bg := context.Background()
	for _, giveUp := range []bool{false, true} {
		r := NewRLock()
		if ok, err := r.acquire(bg, other, true, time.Time{}, 1); !ok || err != nil {
			t.Fatalf("first acquire = %v, %v", ok, err)
		}
		wctx, cancel := context.WithCancel(bg)
		res := make(chan error, 1)
		go func() { _, err := r.acquire(wctx, sess, true, time.Time{}, 1); res <- err }()
		parked(t, func() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.waiters) })

		r.mu.Lock()
		if giveUp {
			cancel()
		}
		r.count = 0
		r.unlockLocked(false) // the other session's Release grants the lock to sess's waiter
		r.count++             // a second goroutine of sess re-enters (Acquire's fast path)
		r.mu.Unlock()
		err := <-res
		cancel()
		want := 2
		if errors.Is(err, context.Canceled) {
			want = 1
		} else if err != nil {
			t.Fatalf("waiter: %v", err)
		}
		r.mu.Lock()
		locked, owner, count := r.locked, r.owner, r.count
		r.mu.Unlock()
		if !locked || owner != sess.ID() || count != want {
			t.Fatalf("giveUp=%v: after the grant and a re-entry: locked %v, owner %d (want %d), count %d (want %d)",
				giveUp, locked, owner, sess.ID(), count, want)
		}
	}
}
