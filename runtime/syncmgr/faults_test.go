package syncmgr_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

func init() {
	// t7-hold-everything: acquire the Lock (arg 0), take an item from the Queue (arg 1),
	// set the Event (arg 3), then park one goroutine in the Barrier (arg 2) and another in
	// a Get on the (now empty) queue, until killed.
	mgr.RegisterWorker("t7-hold-everything", func(ctx context.Context, w *mgr.WorkerEnv) error {
		l, err := mgr.AttachArg(ctx, w, 0, syncmgr.AttachLock)
		if err != nil {
			return err
		}
		q, err := mgr.AttachArg(ctx, w, 1, syncmgr.AttachQueue[int])
		if err != nil {
			return err
		}
		b, err := mgr.AttachArg(ctx, w, 2, syncmgr.AttachBarrier)
		if err != nil {
			return err
		}
		holding, err := mgr.AttachArg(ctx, w, 3, syncmgr.AttachEvent)
		if err != nil {
			return err
		}
		if err := l.Acquire(ctx); err != nil {
			return err
		}
		if _, err := q.Get(ctx); err != nil {
			return err
		}
		if err := holding.Set(ctx); err != nil {
			return err
		}
		go q.Get(ctx)
		b.Wait(ctx)
		<-ctx.Done()
		return nil
	})
}

// TestFaultKilledWorkerHoldingLockBarrierAndQueue kills (SIGKILL) a worker that holds a
// lock, has taken a queue item, waits in a barrier and is blocked in a Get: the lock is
// acquirable with ErrAbandoned, the barrier is broken, the dead Get swallows no later
// item, the taken item does not come back, the worker's references are gone, and the
// manager's goroutines return to their baseline.
func TestFaultKilledWorkerHoldingLockBarrierAndQueue(t *testing.T) {
	ctx := testCtx(t)
	m, _ := startManager(t)
	c := m.Client()
	srv := m.Server()
	runtime.GC()
	baseG, baseSessions := runtime.NumGoroutine(), srv.NumSessions()

	for round := range 3 {
		l := must[*syncmgr.LockProxy](t)(syncmgr.CreateLock(ctx, c))
		q := must[*syncmgr.QueueProxy[int]](t)(syncmgr.CreateQueue[int](ctx, c, 0))
		b := must[*syncmgr.BarrierProxy](t)(syncmgr.CreateBarrier(ctx, c, 2))
		holding := must[*syncmgr.EventProxy](t)(syncmgr.CreateEvent(ctx, c))
		check(t, q.Put(ctx, 1))
		objects := srv.NumObjects()

		p := spawn(t, m, "t7-hold-everything", l, q, b, holding)
		check(t, holding.Wait(ctx))
		waitUntil(t, "the worker to wait in the barrier", func() (bool, error) {
			n, err := b.NWaiting(ctx)
			return n == 1, err
		})
		check(t, p.Kill())

		// The lock: acquirable, with the abandoned error, then usable.
		if err := l.Acquire(ctx); !errors.Is(err, syncmgr.ErrAbandoned) {
			t.Fatalf("round %d: Acquire after the holder was killed: %v, want ErrAbandoned", round, err)
		}
		check(t, l.Release(ctx))
		// The barrier: broken for everyone.
		waitUntil(t, "the barrier to break", func() (bool, error) { return b.Broken(ctx) })
		if _, err := b.Wait(ctx); !errors.Is(err, syncmgr.ErrBrokenBarrier) {
			t.Fatalf("round %d: Wait on the barrier of a killed party: %v, want ErrBrokenBarrier", round, err)
		}
		// The queue: the taken item is gone (taken, not duplicated); a later item goes to
		// a live getter, not to the dead one.
		if n := must[int](t)(q.Qsize(ctx)); n != 0 {
			t.Fatalf("round %d: Qsize = %d after the taker died, want 0", round, n)
		}
		check(t, q.Put(ctx, 2))
		gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		v, err := q.Get(gctx)
		cancel()
		if err != nil || v != 2 {
			t.Fatalf("round %d: Get after the killed getter: %d, %v; want 2", round, v, err)
		}

		// References, sessions and goroutines: back to the baseline.
		waitUntilPlain(t, "the worker's session and references to go", func() bool {
			if srv.NumSessions() != baseSessions || srv.NumObjects() != objects {
				return false
			}
			for _, o := range srv.Info().Objects {
				for _, h := range o.Holders {
					if h.Session != c.SessionID() {
						return false
					}
				}
			}
			return true
		})
		for _, pr := range []interface{ Close(context.Context) error }{l, q, b, holding} {
			check(t, pr.Close(ctx))
		}
		waitUntilPlain(t, "goroutines back to the baseline", func() bool { return runtime.NumGoroutine() <= baseG+2 })
		t.Logf("round %d: sessions %d, objects %d, goroutines %d (baseline %d)", round,
			srv.NumSessions(), srv.NumObjects(), runtime.NumGoroutine(), baseG)
	}
}

// waitUntilPlain polls a condition on this process's state with a generous deadline.
func waitUntilPlain(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitUntil(t, what, func() (bool, error) { return cond(), nil })
}
