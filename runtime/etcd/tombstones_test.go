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

// A session that takes and gives back a lock again and again writes one waiter key
// name, not one per acquire: etcd keeps every name ever written in its index until its
// history is compacted, and each Acquire's free check walks all the names under the
// lock's waiters prefix (with a name per acquire, Acquire had slowed 1.7× after 3,000
// of them). Contended or not, TryAcquire refused or not.
func TestLockReusesWaiterKeys(t *testing.T) {
	ec := startEtcd(t, 1)
	ctx := testCtx(t, 60*time.Second)
	a := inProcManager(t, ec.endpoints, "reuse", 3*time.Second)
	c1, c2 := connect(t, a), connect(t, a)
	l1, err := syncmgr.LookupLock(ctx, c1, "lock")
	if err != nil {
		t.Fatal(err)
	}
	l2, err := syncmgr.LookupLock(ctx, c2, "lock")
	if err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: ec.endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := cli.Watch(wctx, "reuse/o/n/lock/w/", clientv3.WithPrefix(), clientv3.WithFilterDelete())
	// The watch is in place once a write through it is seen.
	if _, err := cli.Put(ctx, "reuse/o/n/lock/w/~probe", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Delete(ctx, "reuse/o/n/lock/w/~probe"); err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	collect := func(until string) {
		t.Helper()
		for {
			select {
			case wr := <-wch:
				for _, ev := range wr.Events {
					names[string(ev.Kv.Key)]++
					if string(ev.Kv.Key) == until {
						return
					}
				}
			case <-ctx.Done():
				t.Fatalf("no watch event for %s", until)
			}
		}
	}
	collect("reuse/o/n/lock/w/~probe")
	delete(names, "reuse/o/n/lock/w/~probe")

	const rounds = 10
	for range rounds {
		if err := l1.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		if ok, err := l2.TryAcquire(ctx); ok || err != nil {
			t.Fatalf("TryAcquire of a held lock = %v, %v", ok, err)
		}
		got := make(chan error, 1)
		go func() { got <- l2.Acquire(ctx) }()
		waitLocked(t, ctx, cli, "reuse/o/n/lock/w/", 2) // l2 waits
		if err := l1.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-got; err != nil {
			t.Fatal(err)
		}
		if err := l2.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.Put(ctx, "reuse/o/n/lock/w/~end", ""); err != nil {
		t.Fatal(err)
	}
	collect("reuse/o/n/lock/w/~end")
	delete(names, "reuse/o/n/lock/w/~end")
	if len(names) != 2 {
		t.Fatalf("%d rounds of two sessions wrote %d waiter key names, want 2 (one per session): %v", rounds, len(names), names)
	}
	for k, n := range names {
		if n != rounds {
			t.Errorf("%s written %d times, want %d", k, n, rounds)
		}
	}
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
	q, err := syncmgr.LookupQueue[int](ctx, connect(t, mgr.ListenerAddress(ln)), "q")
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
