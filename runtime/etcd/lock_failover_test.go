package etcd_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/testnet"
	"github.com/mgr-go/mgr/runtime/etcd"
	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// TestLockFencedAfterAdoption: a manager cut off from its client (alive, and still
// reaching etcd) has an Acquire in flight for a session another manager then adopts. The
// adoption drops that call's waiter key; when the lock comes free, the old manager's call
// used to queue again, with the adopted session's lease, and take the lock — for a client
// that had been told its call failed, and now waited behind its own session. Now every
// lock transaction the old manager makes for the session is conditional on the session
// still being its own (fence), and the call ends instead.
func TestLockFencedAfterAdoption(t *testing.T) {
	ec := startEtcd(t, 1)
	ctx := testCtx(t, time.Minute)
	points := make(chan string, 64)
	old, err := etcd.New(ctx, etcd.Config{Endpoints: ec.endpoints, Prefix: "lfence", TTL: 10 * time.Second, OpTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	etcd.SetTestHook(old, func(_ context.Context, p string) {
		select {
		case points <- p:
		default:
		}
	})
	// A resume window longer than the test: the old session, and its call, live on.
	a := serveBackend(t, ctx, old, mgr.Address{Network: "tcp", Addr: "127.0.0.1:0"}, mgr.Options{ResumeWindow: 5 * time.Minute})
	b := inProcManager(t, ec.endpoints, "lfence", 10*time.Second)
	link := testnet.NewCutLink(t, "tcp", a.Addr)
	states := make(chan mgr.ConnState, 16)
	c, err := mgr.Connect(ctx, mgr.Options{Address: mgr.Address{Network: "tcp", Addr: link.Addr()}, Failover: []mgr.Address{b},
		AuthKey: testKey, OnState: func(s mgr.ConnState, _ error) { states <- s }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	other := connect(t, b)
	ol, err := syncmgr.LookupLock(ctx, other, "lock")
	if err != nil {
		t.Fatal(err)
	}
	if err := ol.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	// The session needs a lease to be adopted: it takes and gives back another lock.
	l2, err := syncmgr.CreateLock(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := l2.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l2.Release(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := syncmgr.LookupLock(ctx, c, "lock")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- l.Acquire(ctx) }()
	waitPoint(t, ctx, points, "lock-queued")

	failOver(t, link, states, c)
	if err := <-got; !errors.Is(err, mgr.ErrManagerRestarted) {
		t.Fatalf("the Acquire in flight at the failover: %v, want ErrManagerRestarted", err)
	}
	if err := ol.Release(ctx); err != nil { // the old manager's waiter is next
		t.Fatal(err)
	}
	if p := waitPoint(t, ctx, points, "lock-queued", "lock-granted", "lock-fenced"); p != "lock-fenced" {
		t.Fatalf("the old manager's Acquire for the adopted session: %s, want lock-fenced", p)
	}
	l, err = syncmgr.LookupLock(ctx, c, "lock")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := l.AcquireTimeout(ctx, 10*time.Second); !ok || err != nil {
		t.Fatalf("Acquire through the adopting manager = %v, %v; want the free lock", ok, err)
	}
}
