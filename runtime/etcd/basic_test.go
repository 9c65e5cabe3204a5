package etcd_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/etcd"
	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// inProcManager serves a manager with an etcd backend from this process.
func inProcManager(t testing.TB, endpoints []string, prefix string, ttl time.Duration) mgr.Address {
	t.Helper()
	return inProcManagerAt(t, mgr.Address{Network: "tcp", Addr: "127.0.0.1:0"}, endpoints, prefix, ttl)
}

func inProcManagerAt(t testing.TB, at mgr.Address, endpoints []string, prefix string, ttl time.Duration) mgr.Address {
	t.Helper()
	ctx := testCtx(t, 30*time.Second)
	b, err := etcd.New(ctx, etcd.Config{Endpoints: endpoints, Prefix: prefix, TTL: ttl, OpTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return serveBackend(t, ctx, b, at, mgr.Options{})
}

// serveBackend declares the test objects in b and serves a manager on it at at, from this
// process, with opts (its AuthKey is testKey); both end with the test.
func serveBackend(t testing.TB, ctx context.Context, b *etcd.Backend, at mgr.Address, opts mgr.Options) mgr.Address {
	t.Helper()
	if err := declareTestObjects(ctx, b); err != nil {
		t.Fatal(err)
	}
	opts.AuthKey = testKey
	srv, err := mgr.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetBackend(b); err != nil {
		t.Fatal(err)
	}
	ln, err := mgr.Listen(at, nil)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		b.Close()
	})
	return mgr.ListenerAddress(ln)
}

// Two managers on one etcd serve the same objects, through the unchanged syncmgr proxies.
func TestTwoManagersShareObjects(t *testing.T) {
	ec := startEtcd(t, 1)
	ctx := testCtx(t, 60*time.Second)
	c1 := connect(t, inProcManager(t, ec.endpoints, "share", 3*time.Second))
	c2 := connect(t, inProcManager(t, ec.endpoints, "share", 3*time.Second))

	// Lock: held through one manager, busy through the other.
	l1, err := syncmgr.LookupLock(ctx, c1, "lock")
	if err != nil {
		t.Fatal(err)
	}
	l2, err := syncmgr.LookupLock(ctx, c2, "lock")
	if err != nil {
		t.Fatal(err)
	}
	if err := l1.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := l2.TryAcquire(ctx); ok || err != nil {
		t.Fatalf("TryAcquire of a held lock on the other manager = %v, %v", ok, err)
	}
	if ok, err := l2.Locked(ctx); !ok || err != nil {
		t.Fatalf("Locked = %v, %v", ok, err)
	}
	got := make(chan error, 1)
	go func() { got <- l2.Acquire(ctx) }()
	if err := l1.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("waiting Acquire on the other manager: %v", err)
	}
	t1, err := etcd.FencingToken(ctx, l2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := etcd.FencingToken(ctx, l1); !errors.Is(err, syncmgr.ErrNotOwner) {
		t.Fatalf("FencingToken of a non-holder: %v, want ErrNotOwner", err)
	}
	if err := l1.Release(ctx); err != nil { // any session may release, as in Python
		t.Fatal(err)
	}
	if err := l1.Release(ctx); !errors.Is(err, syncmgr.ErrNotHeld) {
		t.Fatalf("Release of a free lock: %v, want ErrNotHeld", err)
	}
	if err := l1.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if t2, _ := etcd.FencingToken(ctx, l1); t2 <= t1 {
		t.Fatalf("fencing token %d after %d: not increasing", t2, t1)
	}
	l1.Release(ctx)

	// Dict and Value.
	d1, _ := syncmgr.LookupDict[string, int](ctx, c1, "d")
	d2, err := syncmgr.LookupDict[string, int](ctx, c2, "d")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d1.AddNumber(ctx, "k", 5); err != nil {
		t.Fatal(err)
	}
	if n, err := d2.AddNumber(ctx, "k", 2); n != 7 || err != nil {
		t.Fatalf("AddNumber on the other manager = %d, %v; want 7", n, err)
	}
	if _, err := d2.GetItem(ctx, "nope"); !errors.Is(err, syncmgr.ErrNoKey) {
		t.Fatalf("GetItem of a missing key: %v, want ErrNoKey", err)
	}
	v1, _ := syncmgr.LookupValue[int](ctx, c1, "v")
	v2, _ := syncmgr.LookupValue[int](ctx, c2, "v")
	if ok, err := v1.CompareAndSwap(ctx, 0, 10); !ok || err != nil {
		t.Fatalf("CAS 0→10 = %v, %v", ok, err)
	}
	if ok, err := v2.CompareAndSwap(ctx, 0, 11); ok || err != nil {
		t.Fatalf("stale CAS 0→11 on the other manager = %v, %v", ok, err)
	}
	if x, err := v2.Get(ctx); x != 10 || err != nil {
		t.Fatalf("Get = %d, %v", x, err)
	}

	// Queue: put through one, get through the other, in order; empty is ErrEmpty.
	q1, _ := syncmgr.LookupQueue[int](ctx, c1, "q")
	q2, err := syncmgr.LookupQueue[int](ctx, c2, "q")
	if err != nil {
		t.Fatal(err)
	}
	if err := q1.PutMany(ctx, []int{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	for want := 1; want <= 3; want++ {
		if x, err := q2.Get(ctx); x != want || err != nil {
			t.Fatalf("Get = %d, %v; want %d", x, err, want)
		}
	}
	if _, err := q2.GetNowait(ctx); !errors.Is(err, syncmgr.ErrEmpty) {
		t.Fatalf("GetNowait of an empty queue: %v", err)
	}
	// A blocking Get is woken by a Put on the other manager (a watch, no polling).
	gotItem := make(chan int, 1)
	go func() { x, _ := q2.Get(ctx); gotItem <- x }()
	if err := q1.Put(ctx, 42); err != nil {
		t.Fatal(err)
	}
	if x := <-gotItem; x != 42 {
		t.Fatalf("blocked Get = %d", x)
	}
	// Created (unnamed) objects work too, through the manager that made them.
	nd, err := syncmgr.CreateDict[string, int](ctx, c1)
	if err != nil {
		t.Fatal(err)
	}
	nd.Set(ctx, "a", 1)
	if x, ok, err := nd.Get(ctx, "a"); x != 1 || !ok || err != nil {
		t.Fatalf("created Dict Get = %d, %v, %v", x, ok, err)
	}
}

// A manager that never granted a lock releases it (any session may, as in Python).
func TestReleaseThroughAnotherManager(t *testing.T) {
	ec := startEtcd(t, 1)
	ctx := testCtx(t, 30*time.Second)
	c1 := connect(t, inProcManager(t, ec.endpoints, "rel", 3*time.Second))
	c2 := connect(t, inProcManager(t, ec.endpoints, "rel", 3*time.Second))
	l1, _ := syncmgr.LookupLock(ctx, c1, "lock")
	l2, err := syncmgr.LookupLock(ctx, c2, "lock")
	if err != nil {
		t.Fatal(err)
	}
	if err := l2.Release(ctx); !errors.Is(err, syncmgr.ErrNotHeld) {
		t.Fatalf("Release of a free lock: %v", err)
	}
	if err := l1.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l2.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := l1.Locked(ctx); ok || err != nil {
		t.Fatalf("Locked after release = %v, %v", ok, err)
	}
}

// An Event set through one manager wakes a waiter on another.
func TestEventAcrossManagers(t *testing.T) {
	ec := startEtcd(t, 1)
	ctx := testCtx(t, 30*time.Second)
	c1 := connect(t, inProcManager(t, ec.endpoints, "ev", 3*time.Second))
	c2 := connect(t, inProcManager(t, ec.endpoints, "ev", 3*time.Second))
	e1, _ := syncmgr.LookupEvent(ctx, c1, "ev")
	e2, err := syncmgr.LookupEvent(ctx, c2, "ev")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := e2.WaitTimeout(ctx, 50*time.Millisecond); ok || err != nil {
		t.Fatalf("WaitTimeout of a clear event = %v, %v", ok, err)
	}
	woke := make(chan error, 1)
	go func() { woke <- e2.Wait(ctx) }()
	if err := e1.Set(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-woke; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if ok, err := e2.IsSet(ctx); !ok || err != nil {
		t.Fatalf("IsSet = %v, %v", ok, err)
	}
	if err := e2.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := e1.IsSet(ctx); ok {
		t.Fatal("IsSet after Clear")
	}
}

// A Semaphore of 2 shared by two managers: a third acquirer waits for a release; a
// client that ends holding a permit leaves it abandoned for the next; a
// BoundedSemaphore refuses a release beyond its value.
func TestSemaphoreAcrossManagers(t *testing.T) {
	ec := startEtcd(t, 1)
	ctx := testCtx(t, 30*time.Second)
	a1 := inProcManager(t, ec.endpoints, "sem", 3*time.Second)
	c1 := connect(t, a1)
	c2 := connect(t, inProcManager(t, ec.endpoints, "sem", 3*time.Second))
	s1, _ := syncmgr.LookupSemaphore(ctx, c1, "sem")
	s2, err := syncmgr.LookupSemaphore(ctx, c2, "sem")
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s2.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := s2.TryAcquire(ctx); ok || err != nil {
		t.Fatalf("TryAcquire with no permit left = %v, %v", ok, err)
	}
	got := make(chan error, 1)
	go func() { got <- s2.Acquire(ctx) }()
	if err := s1.Release(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("waiting Acquire: %v", err)
	}
	if v, err := s1.Value(ctx); v != 0 || err != nil {
		t.Fatalf("Value = %d, %v", v, err)
	}
	// A client that ends holding a permit: the next acquirer gets it, abandoned.
	c3 := connect(t, a1)
	s3, _ := syncmgr.LookupSemaphore(ctx, c3, "sem")
	if err := s2.Release(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := s3.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	c3.Close()
	if err := s1.Acquire(ctx); !errors.Is(err, syncmgr.ErrAbandoned) {
		t.Fatalf("Acquire after a holder's session ended: %v, want ErrAbandoned", err)
	}

	b1, err := syncmgr.LookupBoundedSemaphore(ctx, c1, "bsem")
	if err != nil {
		t.Fatal(err)
	}
	if err := b1.Release(ctx); !errors.Is(err, syncmgr.ErrOverRelease) {
		t.Fatalf("over-release: %v, want ErrOverRelease", err)
	}
	if err := b1.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b1.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// etcd gone: calls fail with ErrUnavailable (not hang, not half-apply); etcd back: they
// work again, on the state as it was.
func TestEtcdDownAndBack(t *testing.T) {
	ec := startEtcd(t, 1)
	ctx := testCtx(t, 120*time.Second)
	c := connect(t, inProcManager(t, ec.endpoints, "down", 3*time.Second))
	d, err := syncmgr.LookupDict[string, int](ctx, c, "d")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Set(ctx, "k", 1); err != nil {
		t.Fatal(err)
	}
	ec.kill(0)
	start := time.Now()
	if _, err := d.AddNumber(ctx, "k", 1); !errors.Is(err, etcd.ErrUnavailable) {
		t.Fatalf("AddNumber with etcd down: %v, want ErrUnavailable", err)
	}
	t.Logf("ErrUnavailable after %v (OpTimeout 3 s)", time.Since(start).Round(time.Millisecond))
	ec.restart(0)
	var n int
	for backoff := 10 * time.Millisecond; ; backoff = min(2*backoff, 500*time.Millisecond) {
		n, err = d.AddNumber(ctx, "k", 10)
		if err == nil {
			break
		}
		if !errors.Is(err, etcd.ErrUnavailable) {
			t.Fatalf("AddNumber after etcd came back: %v", err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("etcd back, calls still fail: %v", err)
		case <-time.After(backoff):
		}
	}
	if n != 11 {
		t.Fatalf("k = %d after etcd came back, want 11 (the failed AddNumber must not have landed)", n)
	}
}

// A client killed with SIGKILL while holding a lock releases it at once (its manager
// lives and revokes its lease): the next acquirer gets ErrAbandoned, without a TTL.
func TestClientKilledHoldingLock(t *testing.T) {
	ec := startEtcd(t, 1)
	ctx := testCtx(t, 60*time.Second)
	// On a Unix socket the manager sees a client's process die, and ends its session at
	// once (over TCP it waits the resume window); the TTL is long enough to notice.
	sock, cleanup, err := mgr.PrivateSocket()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	a := inProcManagerAt(t, sock, ec.endpoints, "clientkill", 30*time.Second)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envRole+"=holder", "MGRETCD_ADDR="+a.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "held\n" {
		t.Fatalf("holder said %q, %v", line, err)
	}
	c := connect(t, a)
	l, err := syncmgr.LookupLock(ctx, c, "lock")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Process.Kill()
	start := time.Now()
	if err := l.Acquire(ctx); !errors.Is(err, syncmgr.ErrAbandoned) {
		t.Fatalf("Acquire after the holder was killed: %v, want ErrAbandoned", err)
	}
	t.Logf("lock abandoned %v after the holder's SIGKILL (lease TTL 30 s: released by the manager, not by expiry)", time.Since(start).Round(time.Millisecond))
}

// An RLock shared by two managers: its owner session re-enters, others wait; only the
// owner releases, one count at a time.
func TestRLockAcrossManagers(t *testing.T) {
	ec := startEtcd(t, 1)
	ctx := testCtx(t, 30*time.Second)
	c1 := connect(t, inProcManager(t, ec.endpoints, "rlock", 3*time.Second))
	c2 := connect(t, inProcManager(t, ec.endpoints, "rlock", 3*time.Second))
	r1, _ := syncmgr.LookupRLock(ctx, c1, "rlock")
	r2, err := syncmgr.LookupRLock(ctx, c2, "rlock")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := r1.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := r2.Count(ctx); n != 2 || err != nil {
		t.Fatalf("Count = %d, %v; want 2", n, err)
	}
	if ok, err := r2.TryAcquire(ctx); ok || err != nil {
		t.Fatalf("TryAcquire by another session = %v, %v", ok, err)
	}
	if err := r2.Release(ctx); !errors.Is(err, syncmgr.ErrNotOwner) {
		t.Fatalf("Release by another session: %v, want ErrNotOwner", err)
	}
	got := make(chan error, 1)
	go func() { got <- r2.Acquire(ctx) }()
	if err := r1.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := r1.Locked(ctx); !ok {
		t.Fatal("free after one of two releases")
	}
	if err := r1.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("waiting Acquire: %v", err)
	}
	if n, _ := r1.Count(ctx); n != 1 {
		t.Fatalf("Count after the handover = %d", n)
	}
}

// A Barrier of 3 parties across two managers trips with indexes 0, 1, 2; a waiter whose
// session ends breaks it for the others; Reset makes it usable again.
func TestBarrierAcrossManagers(t *testing.T) {
	ec := startEtcd(t, 1)
	ctx := testCtx(t, 30*time.Second)
	a1 := inProcManager(t, ec.endpoints, "barrier", 3*time.Second)
	a2 := inProcManager(t, ec.endpoints, "barrier", 3*time.Second)
	var bs []*syncmgr.BarrierProxy
	var cs []*mgr.Client
	for i := range 3 {
		c := connect(t, []mgr.Address{a1, a2}[i%2])
		b, err := syncmgr.LookupBarrier(ctx, c, "barrier")
		if err != nil {
			t.Fatal(err)
		}
		bs, cs = append(bs, b), append(cs, c)
	}
	type result struct {
		i   int
		err error
	}
	res := make(chan result, 3)
	for _, b := range bs {
		go func() { i, err := b.Wait(ctx); res <- result{i, err} }()
	}
	seen := map[int]bool{}
	for range 3 {
		r := <-res
		if r.err != nil {
			t.Fatalf("Wait: %v", r.err)
		}
		seen[r.i] = true
	}
	if len(seen) != 3 {
		t.Fatalf("indexes %v, want 0, 1 and 2", seen)
	}
	// Two wait; the second's client goes: the first is told the barrier broke.
	go func() { _, err := bs[0].Wait(ctx); res <- result{0, err} }()
	go func() { _, err := bs[2].Wait(ctx); res <- result{2, err} }()
	for backoff := time.Millisecond; ; backoff = min(2*backoff, 50*time.Millisecond) {
		n, err := bs[1].NWaiting(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 2 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the waiters never arrived")
		case <-time.After(backoff):
		}
	}
	cs[2].Close()
	for range 2 {
		if r := <-res; r.i == 0 && !errors.Is(r.err, syncmgr.ErrBrokenBarrier) {
			t.Fatalf("Wait after a waiter's session ended: %v, want ErrBrokenBarrier", r.err)
		}
	}
	if ok, _ := bs[1].Broken(ctx); !ok {
		t.Fatal("not broken")
	}
	if err := bs[1].Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := bs[0].Broken(ctx); ok {
		t.Fatal("broken after Reset")
	}
	if n, _ := bs[0].Parties(ctx); n != 3 {
		t.Fatalf("Parties = %d", n)
	}
}

// A Condition over a shared Lock, across two managers: Wait releases the lock, Notify
// from the other manager wakes the waiter, which holds the lock again.
func TestConditionAcrossManagers(t *testing.T) {
	ec := startEtcd(t, 1)
	ctx := testCtx(t, 30*time.Second)
	c1 := connect(t, inProcManager(t, ec.endpoints, "cond", 3*time.Second))
	c2 := connect(t, inProcManager(t, ec.endpoints, "cond", 3*time.Second))
	k1, _ := syncmgr.LookupCondition(ctx, c1, "cond")
	k2, err := syncmgr.LookupCondition(ctx, c2, "cond")
	if err != nil {
		t.Fatal(err)
	}
	if err := k1.Notify(ctx, 1); !errors.Is(err, syncmgr.ErrNotOwner) {
		t.Fatalf("Notify without the lock: %v, want ErrNotOwner", err)
	}
	if err := k1.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	woke := make(chan error, 1)
	go func() { woke <- k1.Wait(ctx) }()
	// The waiter joined the waiters and released the lock in one transaction: once the
	// other manager's client has the lock, the waiter is there to be notified.
	if err := k2.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := k2.Waiting(ctx); n != 1 || err != nil {
		t.Fatalf("Waiting = %d, %v", n, err)
	}
	if err := k2.Notify(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := k2.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-woke; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	l1, _ := syncmgr.LookupLock(ctx, c1, "lock")
	if tok, err := etcd.FencingToken(ctx, l1); err != nil || tok == 0 {
		t.Fatalf("the woken waiter does not hold the lock: %d, %v", tok, err)
	}
	if ok, err := k1.WaitTimeout(ctx, 50*time.Millisecond); ok || err != nil {
		t.Fatalf("WaitTimeout without a Notify = %v, %v", ok, err)
	}
	if err := k1.Release(ctx); err != nil {
		t.Fatalf("Release after WaitTimeout (the lock is held again): %v", err)
	}
	// CreateCondition over a client's Lock proxy: the manager resolves it to its etcd lock.
	k3, err := syncmgr.CreateCondition(ctx, c2, l1Proxy(t, ctx, c2), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := k3.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := l1.Locked(ctx); !ok {
		t.Fatal("the created Condition's Acquire did not take the shared lock")
	}
	if err := k3.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

func l1Proxy(t *testing.T, ctx context.Context, c *mgr.Client) *syncmgr.LockProxy {
	t.Helper()
	l, err := syncmgr.LookupLock(ctx, c, "lock")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Many items claimed by other sessions at the head of the queue: a getter on another
// manager (which has not seen the claims) skips them and gets the first unclaimed item;
// a bounded queue refuses a PutNowait when full.
func TestQueueSkipsClaims(t *testing.T) {
	ec := startEtcd(t, 1)
	ctx := testCtx(t, 30*time.Second)
	a1 := inProcManager(t, ec.endpoints, "claims", 3*time.Second)
	a2 := inProcManager(t, ec.endpoints, "claims", 3*time.Second)
	c0 := connect(t, a1)
	q0, _ := syncmgr.LookupQueue[int](ctx, c0, "q")
	items := make([]int, 20)
	for i := range items {
		items[i] = i
	}
	if err := q0.PutMany(ctx, items); err != nil {
		t.Fatal(err)
	}
	for i := range 12 { // twelve sessions hold one claim each
		q, _ := syncmgr.LookupQueue[int](ctx, connect(t, a1), "q")
		if x, err := q.GetNowait(ctx); x != i || err != nil {
			t.Fatalf("GetNowait = %d, %v; want %d", x, err, i)
		}
	}
	q2, _ := syncmgr.LookupQueue[int](ctx, connect(t, a2), "q")
	if x, err := q2.GetNowait(ctx); x != 12 || err != nil {
		t.Fatalf("GetNowait past twelve claims = %d, %v; want 12", x, err)
	}
	if n, err := q2.Qsize(ctx); n != 7 || err != nil {
		t.Fatalf("Qsize = %d, %v; want 7", n, err)
	}
	bq, err := syncmgr.CreateQueue[int](ctx, c0, 2)
	if err != nil {
		t.Fatal(err)
	}
	bq.Put(ctx, 1)
	bq.Put(ctx, 2)
	if err := bq.PutNowait(ctx, 3); !errors.Is(err, syncmgr.ErrFull) {
		t.Fatalf("PutNowait on a full queue: %v, want ErrFull", err)
	}
	if full, _ := bq.Full(ctx); !full {
		t.Fatal("Full = false")
	}
}
