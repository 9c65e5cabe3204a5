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

// TestPopTooLargeLosesNothing: Dict.Pop, Dict.PopItem, List.Pop and Set.Pop take a value
// out and then reply with it; a reply the client cannot take (larger than the MaxFrame it
// announced) used to fail the call with the value already gone. Now the call fails with
// ErrFrameTooLarge and the value is back (mgr.Undo).
func TestPopTooLargeLosesNothing(t *testing.T) {
	ctx := testCtx(t)
	m, err := syncmgr.StartInProcess(mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	small, err := mgr.Connect(ctx, mgr.Options{Address: m.Address(), AuthKey: m.AuthKey(), MaxFrame: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	big := strings.Repeat("x", 2<<20)
	tooLarge := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, mgr.ErrFrameTooLarge) {
			t.Fatalf("%s of a 2 MiB value for a client with MaxFrame 1 MiB: %v, want ErrFrameTooLarge", what, err)
		}
	}

	d := must[*syncmgr.DictProxy[string, string]](t)(syncmgr.CreateDict[string, string](ctx, m.Client()))
	if err := d.Set(ctx, "big", big); err != nil {
		t.Fatal(err)
	}
	ds := must[*syncmgr.DictProxy[string, string]](t)(syncmgr.AttachDict[string, string](ctx, small, must[mgr.Token](t)(d.Token(ctx))))
	_, err = ds.Pop(ctx, "big")
	tooLarge("Dict.Pop", err)
	_, _, err = ds.PopItem(ctx)
	tooLarge("Dict.PopItem", err)
	if v, ok, err := d.Get(ctx, "big"); err != nil || !ok || len(v) != len(big) {
		t.Fatalf("Dict after the failed pops: %d bytes, %v, %v; want the 2 MiB value", len(v), ok, err)
	}

	l := must[*syncmgr.ListProxy[string]](t)(syncmgr.CreateList[string](ctx, m.Client(), nil))
	for _, v := range []string{"a", big, "c"} {
		if err := l.Append(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	ls := must[*syncmgr.ListProxy[string]](t)(syncmgr.AttachList[string](ctx, small, must[mgr.Token](t)(l.Token(ctx))))
	_, err = ls.Pop(ctx, 1)
	tooLarge("List.Pop", err)
	if all, err := l.Copy(ctx); err != nil || len(all) != 3 || all[0] != "a" || all[1] != big || all[2] != "c" {
		t.Fatalf("List after the failed pop: %d items, %v; want a, the 2 MiB value, c", len(all), err)
	}

	s := must[*syncmgr.SetProxy[string]](t)(syncmgr.CreateSet[string](ctx, m.Client(), nil))
	if _, err := s.Add(ctx, big); err != nil {
		t.Fatal(err)
	}
	ss := must[*syncmgr.SetProxy[string]](t)(syncmgr.AttachSet[string](ctx, small, must[mgr.Token](t)(s.Token(ctx))))
	_, err = ss.Pop(ctx)
	tooLarge("Set.Pop", err)
	if ok, err := s.Contains(ctx, big); err != nil || !ok {
		t.Fatalf("Set after the failed pop: contains the 2 MiB value = %v, %v", ok, err)
	}
}
