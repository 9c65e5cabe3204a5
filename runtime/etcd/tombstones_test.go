package etcd_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/etcd"
	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
)

// namesWritten runs fn and returns how many times each key under prefix was written
// (put) meanwhile.
func namesWritten(t *testing.T, ctx context.Context, cli *clientv3.Client, prefix string, fn func()) map[string]int {
	t.Helper()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := cli.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithFilterDelete())
	names := map[string]int{}
	mark := func(m string) { // a write through the watch: all before it has been seen
		t.Helper()
		if _, err := cli.Put(ctx, prefix+m, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := cli.Delete(ctx, prefix+m); err != nil {
			t.Fatal(err)
		}
		for {
			select {
			case wr := <-wch:
				for _, ev := range wr.Events {
					if k := string(ev.Kv.Key); k == prefix+m {
						return
					} else {
						names[k]++
					}
				}
			case <-ctx.Done():
				t.Fatalf("no watch event for %s", prefix+m)
			}
		}
	}
	mark("~begin")
	clear(names)
	fn()
	mark("~end")
	return names
}

// Sessions that take and give back a lock again and again write one waiter key name
// each, not one per acquire: etcd keeps every name ever written in its index until its
// history is compacted, and each Acquire's free check walks all the names under the
// lock's waiters prefix (with a name per acquire, Acquire had slowed 1.7× after 3,000 of
// them). Contended or not, TryAcquire refused or not. The same for a Semaphore's permits
// and a Condition's waiters.
func TestWaitsReuseKeyNames(t *testing.T) {
	ec := startEtcd(t, 1)
	ctx := testCtx(t, 60*time.Second)
	a := inProcManager(t, ec.endpoints, "reuse", 3*time.Second)
	c1, c2 := connect(t, a), connect(t, a)
	cli, err := clientv3.New(clientv3.Config{Endpoints: ec.endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	const rounds = 10
	check := func(what string, names map[string]int, want int) {
		t.Helper()
		if len(names) != want {
			t.Fatalf("%s: %d rounds wrote %d key names, want %d: %v", what, rounds, len(names), want, names)
		}
		for k, n := range names {
			if n != rounds {
				t.Errorf("%s: %s written %d times, want %d", what, k, n, rounds)
			}
		}
	}

	l1, err := syncmgr.LookupLock(ctx, c1, "lock")
	must(err)
	l2, err := syncmgr.LookupLock(ctx, c2, "lock")
	must(err)
	check("Lock, two sessions", namesWritten(t, ctx, cli, "reuse/o/n/lock/w/", func() {
		for range rounds {
			must(l1.Acquire(ctx))
			if ok, err := l2.TryAcquire(ctx); ok || err != nil {
				t.Fatalf("TryAcquire of a held lock = %v, %v", ok, err)
			}
			got := make(chan error, 1)
			go func() { got <- l2.Acquire(ctx) }()
			waitLocked(t, ctx, cli, "reuse/o/n/lock/w/", 2) // l2 waits
			must(l1.Release(ctx))
			must(<-got)
			must(l2.Release(ctx))
		}
	}), 2)

	s1, err := syncmgr.LookupSemaphore(ctx, c1, "sem") // 2 permits
	must(err)
	check("Semaphore, one session", namesWritten(t, ctx, cli, "reuse/o/n/sem/h/", func() {
		for range rounds {
			must(s1.Acquire(ctx))
			must(s1.Release(ctx, 1))
		}
	}), 1)

	k1, err := syncmgr.LookupCondition(ctx, c1, "cond")
	must(err)
	k2, err := syncmgr.LookupCondition(ctx, c2, "cond")
	must(err)
	check("Condition waiters, one session", namesWritten(t, ctx, cli, "reuse/o/n/cond/w/", func() {
		for range rounds {
			must(k1.Acquire(ctx))
			woke := make(chan error, 1)
			go func() { woke <- k1.Wait(ctx) }()
			must(k2.Acquire(ctx)) // the waiter has released the lock: it waits
			must(k2.Notify(ctx, 1))
			must(k2.Release(ctx))
			must(<-woke)
			must(k1.Release(ctx))
		}
	}), 1)
}

// waitLocked waits until n keys are under prefix.
func waitLocked(t *testing.T, ctx context.Context, cli *clientv3.Client, prefix string, n int64) {
	t.Helper()
	for {
		r, err := cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		if r.Count >= n {
			return
		}
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		<-cli.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(r.Header.Revision+1))
		cancel()
		if ctx.Err() != nil {
			t.Fatalf("%d keys under %s, want %d: %v", r.Count, prefix, n, ctx.Err())
		}
	}
}

// A Queue's Get reads its items and claims from the first item it saw last, not from
// the start of the queue's keys: etcd's index keeps every item ever acknowledged until
// its history is compacted, and a read from the start walks them all. Checked on the
// requests themselves (an interceptor sees each transaction's ranges).
func TestQueueReadsFromHead(t *testing.T) {
	ec := startEtcd(t, 1)
	ctx := testCtx(t, 60*time.Second)
	var mu sync.Mutex
	var starts []string // where each read of the items began
	spy := grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if tr, ok := req.(*etcdserverpb.TxnRequest); ok {
			for _, op := range tr.Success {
				if r := op.GetRequestRange(); r != nil && !r.CountOnly && strings.HasPrefix(string(r.Key), "head/o/n/q/i/") {
					mu.Lock()
					starts = append(starts, string(r.Key))
					mu.Unlock()
				}
			}
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	})
	b, err := etcd.New(ctx, etcd.Config{Endpoints: ec.endpoints, Prefix: "head", DialOptions: []grpc.DialOption{spy}})
	if err != nil {
		t.Fatal(err)
	}
	q, err := syncmgr.LookupQueue[int](ctx, connect(t, serveBackend(t, ctx, b, mgr.Address{Network: "tcp", Addr: "127.0.0.1:0"}, mgr.Options{})), "q")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := q.Put(ctx, i); err != nil {
			t.Fatal(err)
		}
		if v, err := q.Get(ctx); v != i || err != nil {
			t.Fatalf("Get = %d, %v; want %d", v, err, i)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(starts) != 5 {
		t.Fatalf("%d reads of the items, want 5: %q", len(starts), starts)
	}
	// The 5th Get's read begins at item 2, not at the queue's start: the first item the
	// 4th Get's read saw (the session's items are acknowledged at its next Get, so item
	// 2 was still there).
	if want := "head/o/n/q/i/" + fmt.Sprintf("%020d", 2); starts[4] != want {
		t.Errorf("the 5th Get read the items from %q, want %q", starts[4], want)
	}
}
