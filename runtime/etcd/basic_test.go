package etcd_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/etcd"
	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// inProcManager serves a manager with an etcd backend from this process.
func inProcManager(t testing.TB, endpoints []string, prefix string, ttl time.Duration) mgr.Address {
	t.Helper()
	ctx := testCtx(t, 30*time.Second)
	b, err := etcd.New(ctx, etcd.Config{Endpoints: endpoints, Prefix: prefix, TTL: ttl, OpTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := declareTestObjects(ctx, b); err != nil {
		t.Fatal(err)
	}
	srv, err := mgr.NewServer(mgr.Options{AuthKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetBackend(b); err != nil {
		t.Fatal(err)
	}
	ln, err := mgr.Listen(mgr.Address{Network: "tcp", Addr: "127.0.0.1:0"}, nil)
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
