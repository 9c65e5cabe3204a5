package syncmgr_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// Semantics of every type through a real manager, with two sessions standing for two
// processes (ownership is per session). The cross-process tests are in process_test.go.

func TestRLockOwnershipAndAbandon(t *testing.T) {
	ctx := testCtx(t)
	m, c2 := startManager(t)
	r := must[*syncmgr.RLockProxy](t)(syncmgr.CreateRLock(ctx, m.Client()))
	r2 := must[*syncmgr.RLockProxy](t)(syncmgr.AttachRLock(ctx, c2, must[mgr.Token](t)(r.Token(ctx))))
	check(t, r.Acquire(ctx))
	check(t, r.Acquire(ctx)) // re-entrant for the owning session
	if n := must[int](t)(r.Count(ctx)); n != 2 {
		t.Fatalf("Count = %d", n)
	}
	if ok := must[bool](t)(r2.TryAcquire(ctx)); ok {
		t.Fatal("another session acquired an owned RLock")
	}
	if err := r2.Release(ctx); !errors.Is(err, syncmgr.ErrNotOwner) {
		t.Fatalf("Release by a non-owner: %v", err)
	}
	check(t, r.Release(ctx))
	check(t, r.Release(ctx))
	if err := r.Release(ctx); !errors.Is(err, syncmgr.ErrNotOwner) {
		t.Fatalf("Release of a free RLock: %v", err)
	}
	// The owner's session ends while holding it twice: freed, reported once.
	check(t, r2.Acquire(ctx))
	check(t, r2.Acquire(ctx))
	got := make(chan error, 1)
	go func() { got <- r.Acquire(ctx) }()
	c2.Close()
	if err := <-got; !errors.Is(err, syncmgr.ErrAbandoned) {
		t.Fatalf("after the owner closed: %v", err)
	}
	check(t, r.Release(ctx))
	if locked := must[bool](t)(r.Locked(ctx)); locked {
		t.Fatal("still locked")
	}
}

func TestSemaphores(t *testing.T) {
	ctx := testCtx(t)
	m, c2 := startManager(t)
	c := m.Client()
	if _, err := syncmgr.CreateSemaphore(ctx, c, -1); !errors.Is(err, syncmgr.ErrInvalid) {
		t.Fatalf("negative value: %v", err)
	}
	s := must[*syncmgr.SemaphoreProxy](t)(syncmgr.CreateSemaphore(ctx, c, 2))
	check(t, s.Acquire(ctx))
	check(t, s.Acquire(ctx))
	if ok := must[bool](t)(s.AcquireTimeout(ctx, 10*time.Millisecond)); ok {
		t.Fatal("third permit of 2")
	}
	check(t, s.Release(ctx, 3)) // a plain Semaphore may grow past its initial value
	if v := must[int](t)(s.Value(ctx)); v != 3 {
		t.Fatalf("Value = %d, want 3", v)
	}

	b := must[*syncmgr.BoundedSemaphoreProxy](t)(syncmgr.CreateBoundedSemaphore(ctx, c, 2))
	b2 := must[*syncmgr.BoundedSemaphoreProxy](t)(syncmgr.AttachBoundedSemaphore(ctx, c2, must[mgr.Token](t)(b.Token(ctx))))
	if err := b.Release(ctx); !errors.Is(err, syncmgr.ErrOverRelease) {
		t.Fatalf("over-release: %v", err)
	}
	check(t, b2.Acquire(ctx))
	check(t, b2.Acquire(ctx))
	c2.Close() // both permits come back, each reported as abandoned
	waitUntil(t, "permits back", func() (bool, error) { v, err := b.Value(ctx); return v == 2, err })
	for range 2 {
		if err := b.Acquire(ctx); !errors.Is(err, syncmgr.ErrAbandoned) {
			t.Fatalf("Acquire of a returned permit: %v", err)
		}
	}
	check(t, b.Release(ctx))
	check(t, b.Release(ctx))
	if err := b.Release(ctx); !errors.Is(err, syncmgr.ErrOverRelease) {
		t.Fatalf("over-release: %v", err)
	}
}

func TestEvent(t *testing.T) {
	ctx := testCtx(t)
	m, _ := startManager(t)
	e := must[*syncmgr.EventProxy](t)(syncmgr.CreateEvent(ctx, m.Client()))
	if set := must[bool](t)(e.WaitTimeout(ctx, time.Millisecond)); set {
		t.Fatal("WaitTimeout on a clear event = true")
	}
	got := make(chan error, 1)
	go func() { got <- e.Wait(ctx) }()
	check(t, e.Set(ctx))
	check(t, <-got)
	if set := must[bool](t)(e.IsSet(ctx)); !set {
		t.Fatal("IsSet = false")
	}
	check(t, e.Clear(ctx))
	if set := must[bool](t)(e.WaitTimeout(ctx, 0)); set {
		t.Fatal("cleared event still set")
	}
}

func TestConditionOverSharedLock(t *testing.T) {
	ctx := testCtx(t)
	m, c2 := startManager(t)
	c := m.Client()
	l := must[*syncmgr.LockProxy](t)(syncmgr.CreateLock(ctx, c))
	cond := must[*syncmgr.ConditionProxy](t)(syncmgr.CreateCondition(ctx, c, l, nil))
	cond2 := must[*syncmgr.ConditionProxy](t)(syncmgr.AttachCondition(ctx, c2, must[mgr.Token](t)(cond.Token(ctx))))
	v := must[*syncmgr.ValueProxy[int]](t)(syncmgr.CreateValue[int](ctx, c, 0))

	if err := cond.Wait(ctx); !errors.Is(err, syncmgr.ErrNotOwner) {
		t.Fatalf("Wait without the lock: %v", err)
	}
	// Session 2 waits for the value to reach 3 with the client-side WaitFor.
	res := make(chan error, 1)
	go func() {
		if err := cond2.Acquire(ctx); err != nil {
			res <- err
			return
		}
		ok, err := syncmgr.WaitFor(ctx, cond2, -1, func() (bool, error) {
			n, err := v.Get(ctx)
			return n == 3, err
		})
		if err == nil && !ok {
			err = errors.New("WaitFor returned false without a timeout")
		}
		res <- errors.Join(err, cond2.Release(ctx))
	}()
	for i := 1; i <= 3; i++ {
		check(t, cond.Acquire(ctx)) // the Condition's lock is the shared Lock
		if locked := must[bool](t)(l.Locked(ctx)); !locked {
			t.Fatal("the shared Lock is not held under the Condition")
		}
		must[int](t)(v.AddNumber(ctx, 1))
		check(t, cond.NotifyAll(ctx))
		check(t, cond.Release(ctx))
	}
	check(t, <-res)
	// WaitTimeout reports a timeout and holds the lock again.
	check(t, cond.Acquire(ctx))
	if ok := must[bool](t)(cond.WaitTimeout(ctx, 5*time.Millisecond)); ok {
		t.Fatal("WaitTimeout without Notify = true")
	}
	check(t, cond.Release(ctx))
	if _, err := syncmgr.CreateCondition(ctx, c, l, must[*syncmgr.RLockProxy](t)(syncmgr.CreateRLock(ctx, c))); !errors.Is(err, syncmgr.ErrInvalid) {
		t.Fatalf("both locks: %v", err)
	}
}

func TestBarrierBreaksWhenAWaiterGivesUp(t *testing.T) {
	ctx := testCtx(t)
	m, c2 := startManager(t)
	b := must[*syncmgr.BarrierProxy](t)(syncmgr.CreateBarrier(ctx, m.Client(), 3))
	b2 := must[*syncmgr.BarrierProxy](t)(syncmgr.AttachBarrier(ctx, c2, must[mgr.Token](t)(b.Token(ctx))))
	got := make(chan error, 1)
	go func() { _, err := b.Wait(ctx); got <- err }()
	waitUntil(t, "one waiter", func() (bool, error) { n, err := b.NWaiting(ctx); return n == 1, err })
	go func() { b2.Wait(ctx) }()
	waitUntil(t, "two waiters", func() (bool, error) { n, err := b.NWaiting(ctx); return n == 2, err })
	c2.Close() // a waiter's session dies: the barrier breaks
	if err := <-got; !errors.Is(err, syncmgr.ErrBrokenBarrier) {
		t.Fatalf("Wait after a waiter died: %v", err)
	}
	if broken := must[bool](t)(b.Broken(ctx)); !broken {
		t.Fatal("Broken = false")
	}
	check(t, b.Reset(ctx))
	if _, err := b.WaitTimeout(ctx, time.Millisecond); !errors.Is(err, syncmgr.ErrBrokenBarrier) {
		t.Fatalf("WaitTimeout alone: %v", err)
	}
}

func TestQueueCancelKeepsItem(t *testing.T) {
	ctx := testCtx(t)
	m, _ := startManager(t)
	q := must[*syncmgr.QueueProxy[string]](t)(syncmgr.CreateQueue[string](ctx, m.Client(), 0))
	if _, err := q.GetTimeout(ctx, time.Millisecond); !errors.Is(err, syncmgr.ErrEmpty) {
		t.Fatalf("GetTimeout on empty: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := q.Get(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get with a short ctx: %v", err)
	}
	check(t, q.PutMany(ctx, []string{"a", "b", "c"}))
	if got := must[[]string](t)(q.GetMany(ctx, 2)); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("GetMany = %v", got)
	}
	if got := must[string](t)(q.Get(ctx)); got != "c" {
		t.Fatalf("Get = %q", got)
	}
	// A Put blocked on a full queue is woken by a Get.
	b := must[*syncmgr.QueueProxy[int]](t)(syncmgr.CreateQueue[int](ctx, m.Client(), 1))
	check(t, b.Put(ctx, 1))
	put := make(chan error, 1)
	go func() { put <- b.Put(ctx, 2) }()
	if v := must[int](t)(b.Get(ctx)); v != 1 {
		t.Fatalf("Get = %d", v)
	}
	check(t, <-put)
	if v := must[int](t)(b.GetTimeout(ctx, time.Second)); v != 2 {
		t.Fatalf("GetTimeout = %d", v)
	}
	// Join waits for TaskDone of all three.
	for range 3 {
		check(t, q.TaskDone(ctx))
	}
	check(t, q.Join(ctx))
}

func TestNamespace(t *testing.T) {
	ctx := testCtx(t)
	m, _ := startManager(t)
	n := must[*syncmgr.NamespaceProxy](t)(syncmgr.CreateNamespace(ctx, m.Client()))
	check(t, n.Set(ctx, "name", "Bob"))
	check(t, n.Set(ctx, "age", 42))
	check(t, n.Set(ctx, "tags", []any{"a", 1.5}))
	if v := must[any](t)(n.Get(ctx, "age")); v != 42 {
		t.Fatalf("age = %#v", v)
	}
	if _, err := n.Get(ctx, "missing"); !errors.Is(err, syncmgr.ErrNoAttribute) {
		t.Fatalf("missing: %v", err)
	}
	check(t, n.Delete(ctx, "age"))
	if err := n.Delete(ctx, "age"); !errors.Is(err, syncmgr.ErrNoAttribute) {
		t.Fatalf("delete missing: %v", err)
	}
	all := must[map[string]any](t)(n.All(ctx))
	if len(all) != 2 || all["name"] != "Bob" {
		t.Fatalf("All = %v", all)
	}
}

func TestDict(t *testing.T) {
	ctx := testCtx(t)
	m, _ := startManager(t)
	d := must[*syncmgr.DictProxy[string, any]](t)(syncmgr.CreateDict[string, any](ctx, m.Client()))
	check(t, d.Update(ctx, map[string]any{"a": 1}))
	check(t, d.UpdateItems(ctx, []syncmgr.Item[string, any]{{Key: "b", Value: "x"}, {Key: "c", Value: 2.5}}))
	if keys := must[[]string](t)(d.Keys(ctx)); !slices.Equal(keys, []string{"a", "b", "c"}) {
		t.Fatalf("Keys = %v (insertion order)", keys)
	}
	if items := must[[]syncmgr.Item[string, any]](t)(d.Range(ctx, 1, 1)); len(items) != 1 || items[0].Key != "b" {
		t.Fatalf("Range(1,1) = %v", items)
	}
	if v := must[any](t)(d.AddNumber(ctx, "a", 2)); v != 3 {
		t.Fatalf("AddNumber = %v", v)
	}
	if v := must[any](t)(d.AddNumber(ctx, "c", 1)); v != 3.5 {
		t.Fatalf("AddNumber float = %v", v)
	}
	if _, err := d.AddNumber(ctx, "b", 1); !errors.Is(err, syncmgr.ErrNotNumber) {
		t.Fatalf("AddNumber on a string: %v", err)
	}
	if ok := must[bool](t)(d.CompareAndSwap(ctx, "b", "y", "z")); ok {
		t.Fatal("CompareAndSwap with a wrong old value succeeded")
	}
	if ok := must[bool](t)(d.CompareAndSwap(ctx, "b", "x", "z")); !ok {
		t.Fatal("CompareAndSwap failed")
	}
	v, loaded, err := d.GetOrSet(ctx, "d", []any{1})
	if err != nil || loaded || len(v.([]any)) != 1 {
		t.Fatalf("GetOrSet new = %v, %v, %v", v, loaded, err)
	}
	if _, loaded, _ := d.GetOrSet(ctx, "d", 0); !loaded {
		t.Fatal("GetOrSet existing: loaded = false")
	}
	if ok := must[bool](t)(d.CompareAndDelete(ctx, "d", []any{1})); !ok {
		t.Fatal("CompareAndDelete with an equal slice failed")
	}
	k, val, err := d.PopItem(ctx)
	if err != nil || k != "c" || val != 3.5 {
		t.Fatalf("PopItem = %v, %v, %v", k, val, err)
	}
	if _, err := d.Pop(ctx, "nope"); !errors.Is(err, syncmgr.ErrNoKey) {
		t.Fatalf("Pop missing: %v", err)
	}
	if _, err := d.GetItem(ctx, "nope"); !errors.Is(err, syncmgr.ErrNoKey) {
		t.Fatalf("GetItem missing: %v", err)
	}
	if n := must[int](t)(d.Len(ctx)); n != 2 {
		t.Fatalf("Len = %d", n)
	}
	// Many deletions compact the order without losing it.
	for i := range 100 {
		check(t, d.Set(ctx, string(rune('A'+i%26))+string(rune('0'+i/26)), i))
	}
	for i := range 90 {
		must[bool](t)(d.Delete(ctx, string(rune('A'+i%26))+string(rune('0'+i/26))))
	}
	keys := must[[]string](t)(d.Keys(ctx))
	if len(keys) != 12 || keys[0] != "a" || keys[2] != "M3" {
		t.Fatalf("keys after deletions = %v", keys)
	}
	check(t, d.Clear(ctx))
	if _, _, err := d.PopItem(ctx); !errors.Is(err, syncmgr.ErrNoKey) {
		t.Fatalf("PopItem on empty: %v", err)
	}
}

func TestList(t *testing.T) {
	ctx := testCtx(t)
	m, _ := startManager(t)
	l := must[*syncmgr.ListProxy[int]](t)(syncmgr.CreateList[int](ctx, m.Client(), []int{5, 3}))
	check(t, l.Extend(ctx, []int{9, 1, 3}))
	check(t, l.Insert(ctx, -1, 7)) // before the last, as Python
	check(t, l.Append(ctx, 0))
	if got := must[[]int](t)(l.Copy(ctx)); !slices.Equal(got, []int{5, 3, 9, 1, 7, 3, 0}) {
		t.Fatalf("Copy = %v", got)
	}
	if n := must[int](t)(l.Count(ctx, 3)); n != 2 {
		t.Fatalf("Count = %d", n)
	}
	if i := must[int](t)(l.Index(ctx, 9)); i != 2 {
		t.Fatalf("Index = %d", i)
	}
	if _, err := l.Index(ctx, 99); !errors.Is(err, syncmgr.ErrNotFound) {
		t.Fatalf("Index missing: %v", err)
	}
	if v := must[int](t)(l.Get(ctx, -1)); v != 0 {
		t.Fatalf("Get(-1) = %d", v)
	}
	if _, err := l.Get(ctx, 7); !errors.Is(err, syncmgr.ErrIndex) {
		t.Fatalf("Get out of range: %v", err)
	}
	check(t, l.Sort(ctx, false))
	if got := must[[]int](t)(l.Slice(ctx, 0, 100)); !slices.Equal(got, []int{0, 1, 3, 3, 5, 7, 9}) {
		t.Fatalf("sorted = %v", got)
	}
	check(t, l.Reverse(ctx))
	if got := must[[]int](t)(l.Slice(ctx, -3, -1)); !slices.Equal(got, []int{3, 1}) {
		t.Fatalf("Slice(-3,-1) = %v", got)
	}
	if v := must[int](t)(l.Pop(ctx, -1)); v != 0 {
		t.Fatalf("Pop = %d", v)
	}
	check(t, l.Remove(ctx, 3))
	if got := must[[]int](t)(l.Range(ctx, 1, 2)); !slices.Equal(got, []int{7, 5}) {
		t.Fatalf("Range = %v", got)
	}
	if v := must[int](t)(l.AddNumber(ctx, 0, 10)); v != 19 {
		t.Fatalf("AddNumber = %d", v)
	}
	la := must[*syncmgr.ListProxy[any]](t)(syncmgr.CreateList[any](ctx, m.Client(), []any{"b", 1}))
	if err := la.Sort(ctx, false); !errors.Is(err, syncmgr.ErrNotOrdered) {
		t.Fatalf("Sort of mixed values: %v", err)
	}
}

func TestSetValueArray(t *testing.T) {
	ctx := testCtx(t)
	m, _ := startManager(t)
	c := m.Client()
	s := must[*syncmgr.SetProxy[string]](t)(syncmgr.CreateSet[string](ctx, c, []string{"a", "b"}))
	if added := must[bool](t)(s.Add(ctx, "a")); added {
		t.Fatal("Add of a present element = true")
	}
	sorted := func(v []string) []string { slices.Sort(v); return v }
	if u := sorted(must[[]string](t)(s.Union(ctx, []string{"c"}))); !slices.Equal(u, []string{"a", "b", "c"}) {
		t.Fatalf("Union = %v", u)
	}
	if i := must[[]string](t)(s.Intersection(ctx, []string{"b", "z"})); !slices.Equal(i, []string{"b"}) {
		t.Fatalf("Intersection = %v", i)
	}
	check(t, s.SymmetricDifferenceUpdate(ctx, []string{"b", "c"}))
	if items := sorted(must[[]string](t)(s.Items(ctx))); !slices.Equal(items, []string{"a", "c"}) {
		t.Fatalf("after ^= : %v", items)
	}
	if err := s.Remove(ctx, "zz"); !errors.Is(err, syncmgr.ErrNoKey) {
		t.Fatalf("Remove missing: %v", err)
	}

	v := must[*syncmgr.ValueProxy[float64]](t)(syncmgr.CreateValue[float64](ctx, c, 1.5))
	if ok := must[bool](t)(v.CompareAndSwap(ctx, 1.5, 2)); !ok {
		t.Fatal("CompareAndSwap failed")
	}
	if x := must[float64](t)(v.AddNumber(ctx, 0.5)); x != 2.5 {
		t.Fatalf("AddNumber = %v", x)
	}
	vs := must[*syncmgr.ValueProxy[string]](t)(syncmgr.CreateValue[string](ctx, c, "x"))
	if _, err := vs.AddNumber(ctx, "y"); !errors.Is(err, syncmgr.ErrNotNumber) {
		t.Fatalf("AddNumber on a string: %v", err)
	}

	a := must[*syncmgr.ArrayProxy[int]](t)(syncmgr.CreateArray[int](ctx, c, make([]int, 4)))
	check(t, a.Set(ctx, -1, 7))
	if _, err := a.Get(ctx, 4); !errors.Is(err, syncmgr.ErrIndex) {
		t.Fatalf("Get out of range: %v", err)
	}
	if n := must[int](t)(a.Len(ctx)); n != 4 {
		t.Fatalf("Len = %d", n)
	}
	if got := must[[]int](t)(a.Slice(ctx, 2, 4)); !slices.Equal(got, []int{0, 7}) {
		t.Fatalf("Slice = %v", got)
	}
	if x := must[int](t)(a.AddNumber(ctx, 0, 5)); x != 5 {
		t.Fatalf("AddNumber = %d", x)
	}
}

func TestUnregisteredInstantiation(t *testing.T) {
	ctx := testCtx(t)
	m, _ := startManager(t)
	type local struct{ X int }
	if _, err := syncmgr.CreateQueue[local](ctx, m.Client(), 0); !errors.Is(err, mgr.ErrUnknownType) {
		t.Fatalf("unregistered Queue[local]: %v, want ErrUnknownType", err)
	}
}

// TestBarrierLastArrivalThatGaveUpBreaksIt: the arrival that would trip the barrier, made
// with a ctx that has already ended, used to trip it — the others went on while its
// caller heard "cancelled". Now it gives up like any waiter: the barrier breaks, and
// everyone hears so.
func TestBarrierLastArrivalThatGaveUpBreaksIt(t *testing.T) {
	ctx := testCtx(t)
	b := must[*syncmgr.Barrier](t)(syncmgr.NewBarrier(2))
	first := make(chan error, 1)
	go func() { _, err := b.Wait(ctx); first <- err }()
	for b.NWaiting() != 1 { // the first waiter is in; no manager to wait through here
		if ctx.Err() != nil {
			t.Fatal("the first waiter never arrived")
		}
		runtime.Gosched()
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.Wait(gone); !errors.Is(err, syncmgr.ErrBrokenBarrier) || !errors.Is(err, context.Canceled) {
		t.Fatalf("the last arrival, given up: %v; want ErrBrokenBarrier and context.Canceled", err)
	}
	if err := <-first; !errors.Is(err, syncmgr.ErrBrokenBarrier) {
		t.Fatalf("the waiter before it: %v; want ErrBrokenBarrier", err)
	}
	if !b.Broken() {
		t.Fatal("Broken = false")
	}
}
