package syncmgr_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// Tests in which real child processes (workers: this test binary re-executed) and the
// parent share each type, after CPython's TestSyncManagerTypes and the generic suites
// that run against manager proxies. Workers signal through shared objects (an Event, a
// Dict counter), never through sleeps.

func init() {
	// lock-hold: acquire the Lock (arg 0), set the Event (arg 1), then hold the lock
	// until the Event (arg 2) is set, so the parent releases a lock this process holds.
	mgr.RegisterWorker("lock-hold", func(ctx context.Context, w *mgr.WorkerEnv) error {
		l, err := mgr.AttachArg(ctx, w, 0, syncmgr.AttachLock)
		if err != nil {
			return err
		}
		acquired, err := mgr.AttachArg(ctx, w, 1, syncmgr.AttachEvent)
		if err != nil {
			return err
		}
		if err := l.Acquire(ctx); err != nil {
			return err
		}
		if err := acquired.Set(ctx); err != nil {
			return err
		}
		if w.NumArgs() < 3 {
			<-ctx.Done() // hold until killed
			return nil
		}
		done, err := mgr.AttachArg(ctx, w, 2, syncmgr.AttachEvent)
		if err != nil {
			return err
		}
		return done.Wait(ctx)
	})
	// queue-fill: put 1 and 2 into a Queue[int] of maxsize 2, then check it is full.
	mgr.RegisterWorker("queue-fill", func(ctx context.Context, w *mgr.WorkerEnv) error {
		q, err := mgr.AttachArg(ctx, w, 0, syncmgr.AttachQueue[int])
		if err != nil {
			return err
		}
		if err := q.PutMany(ctx, []int{1, 2}); err != nil {
			return err
		}
		if full, err := q.Full(ctx); err != nil || !full {
			return fmt.Errorf("Full = %v, %v", full, err)
		}
		if err := q.PutNowait(ctx, 3); !errors.Is(err, syncmgr.ErrFull) {
			return fmt.Errorf("PutNowait on a full queue: %v, want ErrFull", err)
		}
		if err := q.PutTimeout(ctx, 3, 0); !errors.Is(err, syncmgr.ErrFull) {
			return fmt.Errorf("PutTimeout on a full queue: %v, want ErrFull", err)
		}
		filled, err := mgr.AttachArg(ctx, w, 1, syncmgr.AttachEvent)
		if err != nil {
			return err
		}
		if err := filled.Set(ctx); err != nil {
			return err
		}
		// Join returns once the parent has marked both items done.
		return q.Join(ctx)
	})
	// barrier: wait on the Barrier (arg 0) and record the arrival index in the Set (arg 1).
	mgr.RegisterWorker("barrier", func(ctx context.Context, w *mgr.WorkerEnv) error {
		b, err := mgr.AttachArg(ctx, w, 0, syncmgr.AttachBarrier)
		if err != nil {
			return err
		}
		seen, err := mgr.AttachArg(ctx, w, 1, syncmgr.AttachSet[int])
		if err != nil {
			return err
		}
		i, err := b.Wait(ctx)
		if err != nil {
			return err
		}
		_, err = seen.Add(ctx, i)
		return err
	})
	// cond-wait: count itself as ready in the Dict (arg 1) and wait on the Condition
	// (arg 0); once woken, count itself as woken.
	mgr.RegisterWorker("cond-wait", func(ctx context.Context, w *mgr.WorkerEnv) error {
		c, err := mgr.AttachArg(ctx, w, 0, syncmgr.AttachCondition)
		if err != nil {
			return err
		}
		d, err := mgr.AttachArg(ctx, w, 1, syncmgr.AttachDict[string, int])
		if err != nil {
			return err
		}
		if err := c.Acquire(ctx); err != nil {
			return err
		}
		if _, err := d.AddNumber(ctx, "ready", 1); err != nil {
			return err
		}
		if err := c.Wait(ctx); err != nil {
			return err
		}
		if _, err := d.AddNumber(ctx, "woken", 1); err != nil {
			return err
		}
		return c.Release(ctx)
	})
	// add: AddNumber(key, 1) on the Dict (arg 0), n (arg 1) times.
	mgr.RegisterWorker("add", func(ctx context.Context, w *mgr.WorkerEnv) error {
		d, err := mgr.AttachArg(ctx, w, 0, syncmgr.AttachDict[string, int])
		if err != nil {
			return err
		}
		n, err := mgr.WorkerArg[int](w, 1)
		if err != nil {
			return err
		}
		for range n {
			if _, err := d.AddNumber(ctx, "n", 1); err != nil {
				return err
			}
		}
		return nil
	})
	// nested: through the Dict of Lists (arg 0) append 42 to the List at "a"; through the
	// List of Queues (arg 1) put "hello" into the Queue at index 0.
	mgr.RegisterWorker("nested", func(ctx context.Context, w *mgr.WorkerEnv) error {
		d, err := mgr.AttachArg(ctx, w, 0, syncmgr.AttachDict[string, *syncmgr.ListProxy[int]])
		if err != nil {
			return err
		}
		lq, err := mgr.AttachArg(ctx, w, 1, syncmgr.AttachList[*syncmgr.QueueProxy[string]])
		if err != nil {
			return err
		}
		l, ok, err := d.Get(ctx, "a")
		if err != nil || !ok || l == nil {
			return fmt.Errorf(`Get("a") = %v, %v, %v`, l, ok, err)
		}
		if err := l.Append(ctx, 42); err != nil {
			return err
		}
		q, err := lq.Get(ctx, 0)
		if err != nil {
			return err
		}
		return q.Put(ctx, "hello")
	})
}

// spawn starts a worker and arranges for the test to check that it succeeded.
func spawn(t *testing.T, m *mgr.Manager, name string, args ...any) *mgr.Process {
	t.Helper()
	p, err := m.Spawn(testCtx(t), name, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill() })
	return p
}

func waitOK(t *testing.T, p *mgr.Process) {
	t.Helper()
	if code, err := p.Wait(testCtx(t)); code != 0 || err != nil {
		t.Fatalf("worker %s: exit %d: %v", p.Name(), code, err)
	}
}

func TestProcessLockChildAcquiresParentReleases(t *testing.T) {
	ctx := testCtx(t)
	m, _ := startManager(t)
	c := m.Client()
	l := must[*syncmgr.LockProxy](t)(syncmgr.CreateLock(ctx, c))
	acquired := must[*syncmgr.EventProxy](t)(syncmgr.CreateEvent(ctx, c))
	done := must[*syncmgr.EventProxy](t)(syncmgr.CreateEvent(ctx, c))
	p := spawn(t, m, "lock-hold", l, acquired, done)
	check(t, acquired.Wait(ctx))
	if ok := must[bool](t)(l.TryAcquire(ctx)); ok {
		t.Fatal("TryAcquire succeeded while the child holds the lock")
	}
	check(t, l.Release(ctx))
	if err := l.Release(ctx); !errors.Is(err, syncmgr.ErrNotHeld) {
		t.Fatalf("second Release: %v, want ErrNotHeld", err)
	}
	check(t, done.Set(ctx))
	waitOK(t, p)
}

func TestProcessKilledHolderAbandonsLock(t *testing.T) {
	ctx := testCtx(t)
	m, _ := startManager(t)
	c := m.Client()
	l := must[*syncmgr.LockProxy](t)(syncmgr.CreateLock(ctx, c))
	acquired := must[*syncmgr.EventProxy](t)(syncmgr.CreateEvent(ctx, c))
	p := spawn(t, m, "lock-hold", l, acquired)
	check(t, acquired.Wait(ctx))
	check(t, p.Kill()) // kill -9 while holding the lock
	err := l.Acquire(ctx)
	if !errors.Is(err, syncmgr.ErrAbandoned) {
		t.Fatalf("Acquire after the holder was killed: %v, want ErrAbandoned", err)
	}
	if locked := must[bool](t)(l.Locked(ctx)); !locked {
		t.Fatal("ErrAbandoned but the lock is not held")
	}
	check(t, l.Release(ctx))
}

func TestProcessQueueMaxsize2(t *testing.T) {
	ctx := testCtx(t)
	m, _ := startManager(t)
	q := must[*syncmgr.QueueProxy[int]](t)(syncmgr.CreateJoinableQueue[int](ctx, m.Client(), 2))
	filled := must[*syncmgr.EventProxy](t)(syncmgr.CreateEvent(ctx, m.Client()))
	p := spawn(t, m, "queue-fill", q, filled)
	check(t, filled.Wait(ctx))
	if n := must[int](t)(q.Qsize(ctx)); n != 2 {
		t.Fatalf("Qsize = %d, want 2", n)
	}
	if full := must[bool](t)(q.Full(ctx)); !full {
		t.Fatal("Full = false")
	}
	got := must[[]int](t)(q.GetMany(ctx, 10))
	if !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("got %v", got)
	}
	if empty := must[bool](t)(q.Empty(ctx)); !empty {
		t.Fatal("Empty = false after draining")
	}
	if _, err := q.GetNowait(ctx); !errors.Is(err, syncmgr.ErrEmpty) {
		t.Fatalf("GetNowait on an empty queue: %v, want ErrEmpty", err)
	}
	for range got {
		check(t, q.TaskDone(ctx))
	}
	if err := q.TaskDone(ctx); !errors.Is(err, syncmgr.ErrTaskDone) {
		t.Fatalf("extra TaskDone: %v, want ErrTaskDone", err)
	}
	waitOK(t, p) // its Join returned
}

func TestProcessBarrierOf5(t *testing.T) {
	ctx := testCtx(t)
	m, _ := startManager(t)
	c := m.Client()
	b := must[*syncmgr.BarrierProxy](t)(syncmgr.CreateBarrier(ctx, c, 5))
	seen := must[*syncmgr.SetProxy[int]](t)(syncmgr.CreateSet[int](ctx, c, nil))
	var ps []*mgr.Process
	for range 4 {
		ps = append(ps, spawn(t, m, "barrier", b, seen))
	}
	if n := must[int](t)(b.Parties(ctx)); n != 5 {
		t.Fatalf("Parties = %d", n)
	}
	i := must[int](t)(b.Wait(ctx))
	must[bool](t)(seen.Add(ctx, i))
	for _, p := range ps {
		waitOK(t, p)
	}
	idx := must[[]int](t)(seen.Items(ctx))
	slices.Sort(idx)
	if !slices.Equal(idx, []int{0, 1, 2, 3, 4}) {
		t.Fatalf("arrival indexes %v, want 0..4", idx)
	}
	// Reset on an idle barrier leaves it usable; Abort breaks it.
	check(t, b.Reset(ctx))
	check(t, b.Abort(ctx))
	if _, err := b.Wait(ctx); !errors.Is(err, syncmgr.ErrBrokenBarrier) {
		t.Fatalf("Wait on an aborted barrier: %v", err)
	}
}

func TestProcessConditionNotifyN(t *testing.T) {
	ctx := testCtx(t)
	m, _ := startManager(t)
	c := m.Client()
	cond := must[*syncmgr.ConditionProxy](t)(syncmgr.CreateConditionOwnLock(ctx, c))
	d := must[*syncmgr.DictProxy[string, int]](t)(syncmgr.CreateDict[string, int](ctx, c))
	var ps []*mgr.Process
	for range 3 {
		ps = append(ps, spawn(t, m, "cond-wait", cond, d))
	}
	count := func(key string, want int) func() (bool, error) {
		return func() (bool, error) {
			n, _, err := d.Get(ctx, key)
			return n == want, err
		}
	}
	waitUntil(t, "3 ready", count("ready", 3))
	waitUntil(t, "3 waiting", func() (bool, error) { n, err := cond.Waiting(ctx); return n == 3, err })

	check(t, cond.Acquire(ctx))
	check(t, cond.Notify(ctx, 2))
	check(t, cond.Release(ctx))
	waitUntil(t, "2 woken", count("woken", 2))
	if n := must[int](t)(cond.Waiting(ctx)); n != 1 {
		t.Fatalf("after Notify(2): %d waiting, want 1", n)
	}
	if n, _ := must[int](t)(d.GetItem(ctx, "woken")), 0; n != 2 {
		t.Fatalf("woken = %d, want 2", n)
	}
	// Notify needs the lock.
	if err := cond.NotifyAll(ctx); !errors.Is(err, syncmgr.ErrNotOwner) {
		t.Fatalf("NotifyAll without the lock: %v, want ErrNotOwner", err)
	}
	check(t, cond.Acquire(ctx))
	check(t, cond.NotifyAll(ctx))
	check(t, cond.Release(ctx))
	waitUntil(t, "3 woken", count("woken", 3))
	for _, p := range ps {
		waitOK(t, p)
	}
}

// TestProcessDictAddNumber runs the manager as a child process, as Python's Manager()
// does, and four worker processes adding to one key.
func TestProcessDictAddNumber(t *testing.T) {
	ctx := testCtx(t)
	m, err := syncmgr.Start(ctx, mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	d := must[*syncmgr.DictProxy[string, int]](t)(syncmgr.CreateDict[string, int](ctx, m.Client()))
	const procs, times = 4, 1000
	var ps []*mgr.Process
	for range procs {
		ps = append(ps, spawn(t, m, "add", d, times))
	}
	for _, p := range ps {
		waitOK(t, p)
	}
	if n := must[int](t)(d.GetItem(ctx, "n")); n != procs*times {
		t.Fatalf("n = %d, want %d", n, procs*times)
	}
}

func TestProcessNestedProxies(t *testing.T) {
	ctx := testCtx(t)
	m, _ := startManager(t)
	c := m.Client()
	l := must[*syncmgr.ListProxy[int]](t)(syncmgr.CreateList[int](ctx, c, nil))
	d := must[*syncmgr.DictProxy[string, *syncmgr.ListProxy[int]]](t)(syncmgr.CreateDict[string, *syncmgr.ListProxy[int]](ctx, c))
	check(t, d.Set(ctx, "a", l))
	q := must[*syncmgr.QueueProxy[string]](t)(syncmgr.CreateQueue[string](ctx, c, 0))
	lq := must[*syncmgr.ListProxy[*syncmgr.QueueProxy[string]]](t)(syncmgr.CreateList[*syncmgr.QueueProxy[string]](ctx, c, nil))
	check(t, lq.Append(ctx, q))
	// The containers keep the inner objects alive after we drop our own proxies.
	check(t, l.Close(ctx))

	waitOK(t, spawn(t, m, "nested", d, lq))

	l2, ok, err := d.Get(ctx, "a")
	if err != nil || !ok {
		t.Fatalf(`Get("a") = %v, %v`, ok, err)
	}
	if items := must[[]int](t)(l2.Copy(ctx)); !slices.Equal(items, []int{42}) {
		t.Fatalf("list through the dict = %v, want [42]", items)
	}
	if s := must[string](t)(q.GetNowait(ctx)); s != "hello" {
		t.Fatalf("queue through the list = %q", s)
	}
	// Proxies compare by referent in the atomic operations.
	if swapped := must[bool](t)(d.CompareAndSwap(ctx, "a", l2, nil)); !swapped {
		t.Fatal("CompareAndSwap with the stored proxy did not match")
	}
	check(t, d.Clear(ctx))
}
