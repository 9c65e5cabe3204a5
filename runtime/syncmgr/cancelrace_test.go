package syncmgr_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/testnet"
	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// connectSlow connects a client to m through a link that delays the manager's words by
// more than the client's CancelGrace.
func connectSlow(t *testing.T, m *mgr.Manager, grace, delay time.Duration) *mgr.Client {
	t.Helper()
	opts := m.Options()
	opts.Address = mgr.Address{Network: "unix", Addr: testnet.SlowLink(t, m.Address().Network, m.Address().Addr, delay)}
	opts.CancelGrace = grace
	c, err := syncmgr.Connect(testCtx(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// randomCancel returns a ctx that ends at a random moment within max.
func randomCancel(parent context.Context, rng *rand.Rand, max time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, time.Duration(rng.Int64N(int64(max))))
}

// Gets cancelled at random moments, their replies slowed past the grace: every item is
// either returned by exactly one Get or still in the queue afterwards.
func TestCancelledGetsLoseAndDuplicateNothing(t *testing.T) {
	ctx := testCtx(t)
	m, err := syncmgr.StartInProcess(mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	const grace, delay = 2 * time.Millisecond, 6 * time.Millisecond
	c := connectSlow(t, m, grace, delay)

	const items, gets, workers = 12000, 10000, 16
	q, err := syncmgr.CreateQueue[int](ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	all := make([]int, items)
	for i := range all {
		all[i] = i
	}
	tok, err := q.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := syncmgr.AttachQueue[int](ctx, c, tok)
	if err != nil {
		t.Fatal(err)
	}

	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	var (
		mu        sync.Mutex
		got       = map[int]int{}
		cancelled int
	)
	// The items come in small batches, so that Gets wait, are cancelled while they
	// wait, and are woken by an item as their cancellation arrives.
	producing := make(chan struct{})
	go func() {
		defer close(producing)
		for i := 0; i < items; i += 2 {
			if err := q.PutMany(ctx, all[i:min(i+2, items)]); err != nil {
				t.Errorf("PutMany: %v", err)
				return
			}
			time.Sleep(500 * time.Microsecond) // pacing the producer, not waiting for anything
		}
	}()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for range gets / workers {
				cctx, cancel := randomCancel(ctx, rng, 4*delay)
				v, err := qs.Get(cctx)
				cancel()
				mu.Lock()
				switch {
				case err == nil:
					got[v]++
				case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
					cancelled++
				default:
					mu.Unlock()
					t.Errorf("Get: %v", err)
					return
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	<-producing
	if t.Failed() {
		return
	}
	// What is left, read directly (not through the slow link).
	for {
		v, err := q.GetNowait(ctx)
		if errors.Is(err, syncmgr.ErrEmpty) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[v]++
	}
	t.Logf("%d Gets: %d cancelled", gets, cancelled)
	if cancelled == 0 || cancelled == gets {
		t.Fatalf("%d of %d Gets cancelled: the test did not race cancellations with replies", cancelled, gets)
	}
	lost, dup := 0, 0
	for _, v := range all {
		switch got[v] {
		case 0:
			lost++
		case 1:
		default:
			dup++
		}
	}
	if lost > 0 || dup > 0 || len(got) != items {
		t.Fatalf("of %d items %d were lost and %d duplicated (%d distinct seen)", items, lost, dup, len(got))
	}
}

// Acquires cancelled at random moments, their replies slowed past the grace, each
// success released at once: afterwards the lock is free — no grant stayed with a caller
// that gave up.
func TestCancelledAcquiresLeaveNoGrantBehind(t *testing.T) {
	ctx := testCtx(t)
	m, err := syncmgr.StartInProcess(mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	const grace, delay = 2 * time.Millisecond, 6 * time.Millisecond
	c := connectSlow(t, m, grace, delay)
	l, err := syncmgr.CreateLock(ctx, m.Client())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := l.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := syncmgr.AttachLock(ctx, c, tok)
	if err != nil {
		t.Fatal(err)
	}
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	var wg sync.WaitGroup
	var mu sync.Mutex
	acquired, cancelled := 0, 0
	for w := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for range 250 {
				cctx, cancel := randomCancel(ctx, rng, 4*delay)
				err := ls.Acquire(cctx)
				cancel()
				if err != nil {
					if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
						t.Errorf("Acquire: %v", err)
						return
					}
					mu.Lock()
					cancelled++
					mu.Unlock()
					continue
				}
				if err := ls.Release(ctx); err != nil {
					t.Errorf("Release: %v", err)
					return
				}
				mu.Lock()
				acquired++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("2000 Acquires: %d held and released, %d cancelled", acquired, cancelled)
	if t.Failed() {
		return
	}
	if cancelled == 0 || acquired == 0 {
		t.Fatalf("%d acquired, %d cancelled: the test did not race cancellations with grants", acquired, cancelled)
	}
	// Rejections travel after their late replies: wait until they have landed.
	waitUntil(t, "the lock to be free", func() (bool, error) {
		locked, err := l.Locked(ctx)
		return !locked, err
	})
	ok, err := l.TryAcquire(ctx)
	if err != nil || !ok {
		t.Fatalf("TryAcquire after the storm: %v, %v; want the lock free and not abandoned", ok, err)
	}
}
