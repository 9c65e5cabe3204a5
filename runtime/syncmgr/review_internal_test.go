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
	cs := sessionCallers(t, 2)
	return cs[0], cs[1]
}

// sessionCallers returns the Callers of n live sessions of one manager: the manager's
// own client and n-1 more connections.
func sessionCallers(t *testing.T, n int) []mgr.Caller {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := StartInProcess(mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	clients := []*mgr.Client{m.Client()}
	for len(clients) < n {
		c, err := Connect(ctx, m.Options())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		clients = append(clients, c)
	}
	out := make([]mgr.Caller, n)
	seen := map[uint64]bool{}
	for i, c := range clients {
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
		if seen[out[i].ID()] {
			t.Fatal("two sessions with one ID")
		}
		seen[out[i].ID()] = true
	}
	return out
}

// parked polls n() (read under the object's mutex) until it reports one waiter.
func parked(t *testing.T, n func() int) {
	t.Helper()
	parkedN(t, 1, n)
}

// parkedN polls n() (read under the object's mutex) until it reports want waiters.
func parkedN(t *testing.T, want int, n func() int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for n() != want {
		if time.Now().After(deadline) {
			t.Fatalf("the waiters never queued: want %d", want)
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
// may re-enter the lock between the grant and the waiter's wake-up. The waiter must not
// overwrite the count (the grant already counted its acquisition); and if it gave up
// meanwhile, undo only its own acquisition.
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

// rlockState reads an RLock's owner and count under its mutex.
func rlockState(r *RLock) (locked bool, owner uint64, count int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.locked, r.owner, r.count
}

// A grant can be handed on before its waiter wakes: A holds; B waits to restore a count
// of 2 (a Condition.Wait); C waits for 1; A releases, granting B; B's session ends,
// handing the lock to C. B's goroutine, waking last, must not touch C's count, or C's
// single Release leaves the lock held forever. Run with B still waiting and with B
// giving up as it is granted.
func TestRLockGrantHandedOnBeforeWake(t *testing.T) {
	cs := sessionCallers(t, 3)
	a, b, c := cs[0], cs[1], cs[2]
	bg := context.Background()
	for _, giveUp := range []bool{false, true} {
		r := NewRLock()
		if ok, err := r.acquire(bg, a, true, time.Time{}, 1); !ok || err != nil {
			t.Fatalf("first acquire = %v, %v", ok, err)
		}
		bctx, cancel := context.WithCancel(bg)
		resB := make(chan error, 1)
		go func() { _, err := r.acquire(bctx, b, true, time.Time{}, 2); resB <- err }()
		waiters := func() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.waiters) }
		parkedN(t, 1, waiters)
		resC := make(chan error, 1)
		go func() { _, err := r.acquire(bg, c, true, time.Time{}, 1); resC <- err }()
		parkedN(t, 2, waiters)

		r.mu.Lock()
		if giveUp {
			cancel()
		}
		r.count--
		r.unlockLocked(false) // A's Release grants the lock to B ...
		if r.owner != b.ID() || r.count != 2 {
			t.Errorf("giveUp=%v: B's grant: owner %d (want %d), count %d (want 2: B's own count)",
				giveUp, r.owner, b.ID(), r.count)
		}
		r.unlockLocked(true) // ... and B's session ends (sessionEnded's work), handing it to C
		r.mu.Unlock()
		<-resB // B's session is gone: nobody reads its outcome
		cancel()
		if err := <-resC; !errors.Is(err, ErrAbandoned) {
			t.Fatalf("giveUp=%v: C: %v, want ErrAbandoned", giveUp, err)
		}
		if locked, owner, count := rlockState(r); !locked || owner != c.ID() || count != 1 {
			t.Fatalf("giveUp=%v: after B woke: locked %v, owner %d (want C, %d), count %d (want 1)",
				giveUp, locked, owner, c.ID(), count)
		}
	}
}

// The same within one session: W1 waits and gives up as it is granted; meanwhile another
// goroutine of its session releases the lock (the session owns it), which hands it to W2
// of the same session, restoring a count of 2. W1, waking last, must not undo its
// acquisition out of W2's grant: the owner's ID is the same, the grant is not.
func TestRLockGrantGivenUpAfterHandOnWithinSession(t *testing.T) {
	a, s := twoCallers(t)
	bg := context.Background()
	exercised := 0
	for range 10 {
		r := NewRLock()
		if ok, err := r.acquire(bg, a, true, time.Time{}, 1); !ok || err != nil {
			t.Fatalf("first acquire = %v, %v", ok, err)
		}
		w1ctx, cancel := context.WithCancel(bg)
		res1 := make(chan error, 1)
		go func() { _, err := r.acquire(w1ctx, s, true, time.Time{}, 1); res1 <- err }()
		waiters := func() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.waiters) }
		parkedN(t, 1, waiters)
		res2 := make(chan error, 1)
		go func() { _, err := r.acquire(bg, s, true, time.Time{}, 2); res2 <- err }()
		parkedN(t, 2, waiters)

		r.mu.Lock()
		cancel() // W1 gives up just as ...
		r.count--
		r.unlockLocked(false) // ... A's Release grants it the lock, and ...
		r.count--
		if r.count == 0 {
			r.unlockLocked(false) // ... another goroutine of s releases it (to W2)
		}
		r.mu.Unlock()
		err1 := <-res1
		if err := <-res2; err != nil {
			t.Fatalf("W2: %v", err)
		}
		if errors.Is(err1, context.Canceled) {
			exercised++
		} else if err1 != nil {
			t.Fatalf("W1: %v", err1)
		}
		if locked, owner, count := rlockState(r); !locked || owner != s.ID() || count != 2 {
			t.Fatalf("W1 woke with %v: locked %v, owner %d (want %d), count %d (want 2: W2's grant)",
				err1, locked, owner, s.ID(), count)
		}
	}
	if exercised == 0 {
		t.Fatal("the cancelled-at-grant interleaving never happened")
	}
}

// The permits' version of the same: W1 of session S waits for a Lock and gives up as it
// is granted; meanwhile S's permit is released — by S itself, or by another session on
// S's behalf — which hands it to W2, also of S. W1, waking last, must not give back W2's
// grant: the session is the same, the grant is not.
func TestLockGrantGivenUpAfterHandOnWithinSession(t *testing.T) {
	for _, byOther := range []bool{false, true} {
		a, s := twoCallers(t)
		bg := context.Background()
		exercised := 0
		for range 10 {
			l := NewLock()
			p := l.p
			if ok, err := p.acquire(bg, a, true, time.Time{}); !ok || err != nil {
				t.Fatalf("first acquire = %v, %v", ok, err)
			}
			w1ctx, cancel := context.WithCancel(bg)
			res1 := make(chan error, 1)
			go func() { _, err := p.acquire(w1ctx, s, true, time.Time{}); res1 <- err }()
			waiters := func() int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.waiters) }
			parkedN(t, 1, waiters)
			res2 := make(chan error, 1)
			go func() { _, err := p.acquire(bg, s, true, time.Time{}); res2 <- err }()
			parkedN(t, 2, waiters)

			p.mu.Lock()
			cancel()                          // W1 gives up just as ...
			p.releaseFromLocked(a.ID(), true) // ... A's Release grants it the lock, and ...
			if byOther {
				p.releaseFromLocked(s.ID(), false) // ... another session releases it for S (to W2)
			} else {
				p.releaseFromLocked(s.ID(), true) // ... another goroutine of S releases it (to W2)
			}
			p.mu.Unlock()
			err1 := <-res1
			if err := <-res2; err != nil {
				t.Fatalf("W2: %v", err)
			}
			if errors.Is(err1, context.Canceled) {
				exercised++
			} else if err1 != nil {
				t.Fatalf("W1: %v", err1)
			}
			p.mu.Lock()
			h, avail := p.held[s.ID()], p.avail
			p.mu.Unlock()
			if h == nil || len(h.grants) != 1 || avail != 0 {
				t.Fatalf("byOther=%v: W1 woke with %v: S holds %v, %d free; want W2's one grant, none free",
					byOther, err1, h, avail)
			}
		}
		if exercised == 0 {
			t.Fatal("the cancelled-at-grant interleaving never happened")
		}
	}
}
