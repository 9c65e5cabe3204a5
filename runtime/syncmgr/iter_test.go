package syncmgr_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// several chunks and a part of one
const iterN = 3*syncmgr.IterChunk + 17

func fillDict(t *testing.T, c *mgr.Client, n int) *syncmgr.DictProxy[string, int] {
	t.Helper()
	ctx := testCtx(t)
	d, err := syncmgr.CreateDict[string, int](ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	items := make([]syncmgr.Item[string, int], n)
	for i := range items {
		items[i] = syncmgr.Item[string, int]{Key: fmt.Sprint("k", i), Value: i}
	}
	if err := d.UpdateItems(ctx, items); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDictAll(t *testing.T) {
	ctx := testCtx(t)
	m, _ := startManager(t)
	d := fillDict(t, m.Client(), iterN)

	var err error
	i := 0
	for k, v := range d.All(ctx, &err) {
		if i < iterN && (k != fmt.Sprint("k", i) || v != i) || i == iterN && k != "late" {
			t.Fatalf("entry %d = %q, %d", i, k, v)
		}
		if i == 10 { // added during the loop, before its last chunk: seen, at the end
			if err := d.Set(ctx, "late", -1); err != nil {
				t.Fatal(err)
			}
		}
		i++
	}
	if err != nil || i != iterN+1 {
		t.Fatalf("All yielded %d entries (want %d), err %v", i, iterN+1, err)
	}

	// Breaking out early, in the middle of a chunk.
	i = 0
	for range d.All(ctx, &err) {
		if i++; i == syncmgr.IterChunk+5 {
			break
		}
	}
	if err != nil || i != syncmgr.IterChunk+5 {
		t.Fatalf("early break: %d, %v", i, err)
	}

	// Deleting what the loop yielded would shift the rest forward and skip entries; the
	// loop says so at the next chunk instead.
	i = 0
	for k := range d.All(ctx, &err) {
		if _, err := d.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
		i++
	}
	if !errors.Is(err, syncmgr.ErrChanged) || i != syncmgr.IterChunk {
		t.Fatalf("deleting during the loop: %d entries, err %v; want %d and ErrChanged", i, err, syncmgr.IterChunk)
	}
}

func TestListAll(t *testing.T) {
	ctx := testCtx(t)
	m, _ := startManager(t)
	want := make([]int, iterN)
	for i := range want {
		want[i] = i * 3
	}
	l, err := syncmgr.CreateList(ctx, m.Client(), want)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for v := range l.All(ctx, &err) {
		got = append(got, v)
	}
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("List.All (-want +got):\n%s", d)
	}
	got = got[:0]
	for v := range l.All(ctx, &err) {
		got = append(got, v)
		if len(got) == 2*syncmgr.IterChunk {
			break
		}
	}
	if err != nil || !slices.Equal(got, want[:2*syncmgr.IterChunk]) {
		t.Fatalf("early break at a chunk's end: %d elements, %v", len(got), err)
	}
}

func TestSetAll(t *testing.T) {
	ctx := testCtx(t)
	m, _ := startManager(t)
	want := []int{5, 1, 4, 2, 3}
	s, err := syncmgr.CreateSet(ctx, m.Client(), want)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for v := range s.All(ctx, &err) {
		got = append(got, v)
	}
	slices.Sort(got)
	if err != nil || !slices.Equal(got, []int{1, 2, 3, 4, 5}) {
		t.Fatalf("Set.All = %v, %v", got, err)
	}
}

func TestQueueDrain(t *testing.T) {
	ctx := testCtx(t)
	m, _ := startManager(t)
	q, err := syncmgr.CreateQueue[int](ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]int, iterN)
	for i := range want {
		want[i] = i
	}
	if err := q.PutMany(ctx, want); err != nil {
		t.Fatal(err)
	}
	var got []int
	var sizes []int
	for batch := range q.Drain(ctx, &err) {
		got = append(got, batch...)
		sizes = append(sizes, len(batch))
	}
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("drained (-want +got):\n%s", d)
	}
	c := syncmgr.IterChunk
	if d := cmp.Diff([]int{c, c, c, 17}, sizes); d != "" {
		t.Fatalf("batch sizes (-want +got):\n%s", d)
	}
	// An empty queue drains at once, without waiting for an item.
	for batch := range q.Drain(ctx, &err) {
		t.Fatalf("empty queue yielded %v", batch)
	}
	if err != nil {
		t.Fatal(err)
	}

	// Breaking out after one batch leaves the rest queued: nothing is lost.
	if err := q.PutMany(ctx, want); err != nil {
		t.Fatal(err)
	}
	for range q.Drain(ctx, &err) {
		break
	}
	if n, err := q.Qsize(ctx); err != nil || n != iterN-c {
		t.Fatalf("after one batch: Qsize = %d, %v; want %d", n, err, iterN-c)
	}
}

// TestIterationEndsWithShutdown shuts the manager down between two chunks: the loop
// ends, and the error says why.
func TestIterationEndsWithShutdown(t *testing.T) {
	for _, tc := range []struct {
		name string
		loop func(ctx context.Context, c *mgr.Client, stop func()) (int, error)
	}{
		{"Dict", func(ctx context.Context, c *mgr.Client, stop func()) (int, error) {
			d := fillDict(t, c, iterN)
			var err error
			n := 0
			for range d.All(ctx, &err) {
				if n++; n == 1 {
					stop()
				}
			}
			return n, err
		}},
		{"List", func(ctx context.Context, c *mgr.Client, stop func()) (int, error) {
			l, err := syncmgr.CreateList(ctx, c, make([]int, iterN))
			if err != nil {
				return 0, err
			}
			n := 0
			for range l.All(ctx, &err) {
				if n++; n == 1 {
					stop()
				}
			}
			return n, err
		}},
		{"Queue", func(ctx context.Context, c *mgr.Client, stop func()) (int, error) {
			q, err := syncmgr.CreateQueue[int](ctx, c, 0)
			if err != nil {
				return 0, err
			}
			if err := q.PutMany(ctx, make([]int, iterN)); err != nil {
				return 0, err
			}
			n := 0
			for batch := range q.Drain(ctx, &err) {
				n += len(batch)
				stop()
			}
			return n, err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			m, err := syncmgr.StartInProcess(mgr.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Shutdown(context.Background())
			n, err := tc.loop(ctx, m.Client(), func() {
				if err := m.Shutdown(ctx); err != nil {
					t.Errorf("Shutdown: %v", err)
				}
			})
			if !errors.Is(err, mgr.ErrShutdown) || n != syncmgr.IterChunk {
				t.Fatalf("loop saw %d elements, err %v; want one chunk (%d) and ErrShutdown", n, err, syncmgr.IterChunk)
			}
		})
	}
}

func TestIterationNeedsAnErrorPointer(t *testing.T) {
	ctx := testCtx(t)
	m, _ := startManager(t)
	d := fillDict(t, m.Client(), 1)
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("All(ctx, nil) did not panic")
		}
	}()
	d.All(ctx, nil)
}
