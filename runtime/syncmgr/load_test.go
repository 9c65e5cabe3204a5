package syncmgr_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

func init() {
	// t7-queue-load: for Value (arg 3) milliseconds, 32 goroutines put unique items into
	// the Queue (arg 0) with short deadlines and 32 take them with short deadlines (so
	// many calls are cancelled mid-wait), recording each item in the Set (arg 1), which
	// reports a duplicate. Successful puts are added to the Value (arg 2).
	mgr.RegisterWorker("t7-queue-load", func(ctx context.Context, w *mgr.WorkerEnv) error {
		q, err := mgr.AttachArg(ctx, w, 0, syncmgr.AttachQueue[int])
		if err != nil {
			return err
		}
		seen, err := mgr.AttachArg(ctx, w, 1, syncmgr.AttachSet[int])
		if err != nil {
			return err
		}
		puts, err := mgr.AttachArg(ctx, w, 2, syncmgr.AttachValue[int])
		if err != nil {
			return err
		}
		msv, err := mgr.AttachArg(ctx, w, 3, syncmgr.AttachValue[int])
		if err != nil {
			return err
		}
		ms, err := msv.Get(ctx)
		if err != nil {
			return err
		}
		end := time.Now().Add(time.Duration(ms) * time.Millisecond)
		pid := os.Getpid()
		var wg sync.WaitGroup
		errc := make(chan error, 64)
		for g := range 64 {
			wg.Go(func() {
				n := 0
				for i := 0; time.Now().Before(end); i++ {
					cctx, cancel := context.WithTimeout(ctx, time.Duration(1+(i+g)%5)*time.Millisecond)
					if g%2 == 0 {
						item := pid<<32 | g<<20 | n
						err := q.Put(cctx, item)
						cancel()
						if err == nil {
							n++
						} else if !cancelled(err) {
							errc <- fmt.Errorf("Put: %w", err)
							return
						}
						continue
					}
					v, err := q.Get(cctx)
					cancel()
					if cancelled(err) {
						continue
					}
					if err != nil {
						errc <- fmt.Errorf("Get: %w", err)
						return
					}
					if added, err := seen.Add(ctx, v); err != nil || !added {
						errc <- fmt.Errorf("item %#x taken twice (%v)", v, err)
						return
					}
				}
				if n > 0 {
					if _, err := puts.AddNumber(ctx, n); err != nil {
						errc <- err
					}
				}
			})
		}
		wg.Wait()
		close(errc)
		return <-errc
	})
}

// cancelled reports an error of a call whose ctx ended: the ctx's own error, or the
// manager's report that the method gave up because the call was cancelled.
func cancelled(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// TestLoadQueueFourProcesses: 4 worker processes × 64 goroutines put and get on one
// bounded queue for a few seconds, most calls under deadlines short enough to cancel them
// while they wait: every item put is taken exactly once (counted through a Set), none is
// lost, none duplicated.
func TestLoadQueueFourProcesses(t *testing.T) {
	dur := 3 * time.Second
	if testing.Short() {
		dur = 500 * time.Millisecond
	}
	ctx := testCtx(t)
	m, _ := startManager(t)
	c := m.Client()
	q := must[*syncmgr.QueueProxy[int]](t)(syncmgr.CreateQueue[int](ctx, c, 64))
	seen := must[*syncmgr.SetProxy[int]](t)(syncmgr.CreateSet[int](ctx, c, nil))
	puts := must[*syncmgr.ValueProxy[int]](t)(syncmgr.CreateValue(ctx, c, 0))
	ms := must[*syncmgr.ValueProxy[int]](t)(syncmgr.CreateValue(ctx, c, int(dur/time.Millisecond)))
	var ps []*mgr.Process
	for range 4 {
		ps = append(ps, spawn(t, m, "t7-queue-load", q, seen, puts, ms))
	}
	for _, p := range ps {
		waitOK(t, p)
	}
	taken := must[int](t)(seen.Len(ctx))
	left := 0
	for {
		v, err := q.GetNowait(ctx)
		if errors.Is(err, syncmgr.ErrEmpty) {
			break
		}
		check(t, err)
		if added := must[bool](t)(seen.Add(ctx, v)); !added {
			t.Fatalf("item %#x left in the queue was also taken", v)
		}
		left++
	}
	put := must[int](t)(puts.Get(ctx))
	t.Logf("4 processes × 64 goroutines for %s: %d items put, %d taken, %d left in the queue", dur, put, taken, left)
	if put == 0 || taken == 0 {
		t.Fatal("no traffic")
	}
	if taken+left != put {
		t.Fatalf("%d items put, %d taken + %d left = %d: %d lost", put, taken, left, taken+left, put-taken-left)
	}
}
