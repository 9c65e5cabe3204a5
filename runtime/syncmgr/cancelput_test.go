package syncmgr_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// Puts into a full queue cancelled at random moments, the manager's words slowed past
// the grace (as a loaded manager is: the client reads the CancelAck only after its grace
// and gives up at once): an item whose Put failed with its ctx's error is never in the
// queue, and an item whose Put succeeded is there exactly once. This is
// TestLoadQueueFourProcesses's "item taken twice" and "-N lost": its workers put an
// item again after a cancelled Put, so an item that got in anyway came twice.
func TestCancelledPutsLoseAndDuplicateNothing(t *testing.T) {
	ctx := testCtx(t)
	m, err := syncmgr.StartInProcess(mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	const grace, delay = 2 * time.Millisecond, 6 * time.Millisecond
	c := connectSlow(t, m, grace, delay)

	const puts, workers = 6000, 48
	q, err := syncmgr.CreateQueue[int](ctx, m.Client(), 2)
	if err != nil {
		t.Fatal(err)
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
		mu   sync.Mutex
		put  = map[int]bool{} // item → its Put succeeded
		got  = map[int]int{}
		stop = make(chan struct{})
	)
	// The consumer makes room a little at a time, so that Puts wait, are cancelled
	// while they wait, and are woken by room as their cancellation arrives.
	consuming := make(chan struct{})
	go func() {
		defer close(consuming)
		for {
			select {
			case <-stop:
				return
			default:
			}
			cctx, cancel := context.WithTimeout(ctx, delay)
			v, err := q.Get(cctx)
			cancel()
			if err == nil {
				mu.Lock()
				got[v]++
				mu.Unlock()
			} else if !cancelled(err) {
				t.Errorf("Get: %v", err)
				return
			}
			time.Sleep(300 * time.Microsecond) // pacing the consumer, not waiting for anything
		}
	}()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for i := range puts / workers {
				item := w*puts + i
				cctx, cancel := randomCancel(ctx, rng, 4*delay)
				err := qs.Put(cctx, item)
				cancel()
				switch {
				case err == nil:
					mu.Lock()
					put[item] = true
					mu.Unlock()
				case cancelled(err):
				default:
					t.Errorf("Put: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-consuming
	if t.Failed() {
		return
	}
	for { // what is left
		v, err := q.GetNowait(ctx)
		if errors.Is(err, syncmgr.ErrEmpty) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[v]++
	}
	t.Logf("%d Puts: %d succeeded", puts, len(put))
	if len(put) == 0 || len(put) == puts {
		t.Fatalf("%d of %d Puts succeeded: the test did not race cancellations with room", len(put), puts)
	}
	bad := 0
	for item, n := range got {
		if n != 1 || !put[item] {
			if bad++; bad <= 10 {
				t.Errorf("item %d: in the queue %d times, its Put succeeded: %v", item, n, put[item])
			}
		}
	}
	for item := range put {
		if got[item] == 0 {
			if bad++; bad <= 10 {
				t.Errorf("item %d: Put succeeded, never in the queue", item)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d items wrong", bad)
	}
}
