package syncmgr_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// TestQueueGetManyTooLargeLosesNothing: a GetMany whose reply exceeds MaxFrame used to
// end the whole connection, and the items it had taken were gone with it. Now the call
// fails with ErrFrameTooLarge, the items go back (mgr.Undo) in their order, and the
// session goes on.
func TestQueueGetManyTooLargeLosesNothing(t *testing.T) {
	ctx := testCtx(t)
	m, err := syncmgr.StartInProcess(mgr.Options{MaxFrame: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	c := m.Client()
	q := must[*syncmgr.QueueProxy[string]](t)(syncmgr.CreateQueue[string](ctx, c, 0))
	const items, size = 8, 200 << 10 // 1.6 MiB in all
	item := func(i int) string { return fmt.Sprintf("%d:", i) + strings.Repeat(string(rune('a'+i)), size) }
	for i := range items {
		if err := q.Put(ctx, item(i)); err != nil {
			t.Fatal(err)
		}
	}
	_, err = q.GetMany(ctx, items)
	if !errors.Is(err, mgr.ErrFrameTooLarge) || errors.Is(err, mgr.ErrConnLost) {
		t.Fatalf("GetMany of 1.6 MiB with MaxFrame 1 MiB: %v, want ErrFrameTooLarge only", err)
	}
	if !strings.Contains(err.Error(), "GetMany") {
		t.Fatalf("error %q does not name the method", err)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("client after the oversized reply: %v", err)
	}
	if n, err := q.Qsize(ctx); err != nil || n != items {
		t.Fatalf("Qsize after the failed GetMany = %d, %v; want %d (nothing lost)", n, err, items)
	}
	// Every item, in order, in batches that fit.
	var got []string
	for len(got) < items {
		b, err := q.GetMany(ctx, 3)
		if err != nil {
			t.Fatalf("GetMany(3): %v", err)
		}
		got = append(got, b...)
	}
	for i, s := range got {
		if s != item(i) {
			t.Fatalf("item %d is %.10q…, want %.10q…", i, s, item(i))
		}
	}
}

// TestStoredProxyArgumentSurvivesGC: a proxy passed to a call and dropped by the caller
// used to be collectable as soon as its ID was encoded; its cleanup's release could then
// reach the manager before the call did, and storing it failed with "unknown object".
// Here lists are stored into a dict without the caller keeping them, while another
// goroutine collects garbage without pause. No store may fail. (Probabilistic: the old
// code failed in some of the iterations, not all.)
func TestStoredProxyArgumentSurvivesGC(t *testing.T) {
	ctx := testCtx(t)
	m, err := syncmgr.StartInProcess(mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	c := m.Client()
	d := must[*syncmgr.DictProxy[string, *syncmgr.ListProxy[int]]](t)(syncmgr.CreateDict[string, *syncmgr.ListProxy[int]](ctx, c))

	stop := make(chan struct{})
	var gcs sync.WaitGroup
	gcs.Add(1)
	go func() {
		defer gcs.Done()
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	const goroutines, iterations = 4, 300
	var failures atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range iterations {
				if err := storeNewList(ctx, c, d, fmt.Sprintf("%d-%d", g, i%8)); err != nil {
					failures.Add(1)
					first.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	gcs.Wait()
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d of %d stores of a dropped proxy failed; first: %v", n, goroutines*iterations, first.Load())
	}
	if n, err := d.Len(ctx); err != nil || n != goroutines*8 {
		t.Fatalf("dict Len = %d, %v; want %d", n, err, goroutines*8)
	}
}

// storeNewList creates a list and stores it in d under key, keeping nothing of it: the
// proxy is unreachable once Set has encoded it.
//
//go:noinline
func storeNewList(ctx context.Context, c *mgr.Client, d *syncmgr.DictProxy[string, *syncmgr.ListProxy[int]], key string) error {
	l, err := syncmgr.CreateList[int](ctx, c, []int{1})
	if err != nil {
		return err
	}
	return d.Set(ctx, key, l)
}
