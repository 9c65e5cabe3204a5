package etcd_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/testnet"
	"github.com/mgr-go/mgr/runtime/etcd"
	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// A consumer's manager dies (SIGKILL) at the two moments that made the queue deliver
// twice or lose an item, and the consumer goes on through another manager, which adopts
// its session: it gets every item exactly once, from the queue alone — no idempotency
// marks. Manager 0 dies right after the claim of its third Get commits, before the reply
// leaves (the client never got that item: it must come back); manager 1 dies right
// before it acknowledges items the client has got (they must not come back); manager 2
// lives.
func TestQueueExactlyOnceWhenManagersDie(t *testing.T) {
	ec := startEtcd(t, 1)
	const ttl = 10 * time.Second // longer than the test: only the adoption can return items
	mps, addrs := startManagersEnv(t, ec.endpoints, "once", ttl, [][]string{{"MGRETCD_DIE=claimed:3"}, {"MGRETCD_DIE=ack:3"}, nil})
	ctx := testCtx(t, 2*time.Minute)
	const n = 40
	seed := connect(t, addrs[2])
	sq, err := syncmgr.LookupQueue[int](ctx, seed, "q")
	if err != nil {
		t.Fatal(err)
	}
	items := make([]int, n)
	for i := range items {
		items[i] = i
	}
	if err := sq.PutMany(ctx, items); err != nil {
		t.Fatal(err)
	}

	restarts := make(chan struct{}, 8)
	c, err := mgr.Connect(ctx, mgr.Options{Address: addrs[0], Failover: addrs[1:], AuthKey: testKey,
		OnState: func(s mgr.ConnState, _ error) {
			if s == mgr.StateRestarted {
				restarts <- struct{}{}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q, err := syncmgr.LookupQueue[int](ctx, c, "q")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]int{}
	var order []int
	failovers := 0
	// again handles a call that failed: after a failover, the proxies of the old session
	// are stale; anything else ends the test.
	again := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, mgr.ErrManagerRestarted) {
			t.Fatalf("%s after %v: %v", what, order, err)
		}
		failovers++
		if q, err = syncmgr.LookupQueue[int](ctx, c, "q"); err != nil {
			t.Fatal(err)
		}
	}
	for len(order) < n {
		v, err := q.GetTimeout(ctx, 5*time.Second)
		if errors.Is(err, syncmgr.ErrEmpty) {
			t.Fatalf("the queue is empty after %d of %d items (%v): items lost", len(order), n, order)
		}
		if err != nil {
			again("Get", err)
			continue
		}
		seen[v]++
		order = append(order, v)
		if v%2 == 0 { // acknowledged by TaskDone; the odd ones by the next Get
			if err := q.TaskDone(ctx); err != nil {
				again("TaskDone", err)
			}
		}
	}
	for i, p := range mps[:2] {
		select {
		case <-p.done:
		default:
			t.Fatalf("manager %d did not die at its point: the test did not test", i)
		}
	}
	if len(restarts) != 2 || failovers != 2 {
		t.Fatalf("%d sessions adopted, %d calls failed over; want 2 and 2", len(restarts), failovers)
	}
	var dups []int
	for v, k := range seen {
		if k != 1 {
			dups = append(dups, v)
		}
	}
	if len(dups) > 0 || len(seen) != n {
		t.Fatalf("items %v delivered more than once; %d distinct of %d (order %v)", dups, len(seen), n, order)
	}
	if _, err := q.GetNowait(ctx); !errors.Is(err, syncmgr.ErrEmpty) {
		t.Fatalf("GetNowait after every item: %v, want ErrEmpty", err)
	}
	t.Logf("%d items, each once, across 2 manager deaths: %v", n, order)
	// Once the consumer's session ends, no item and no claim is left in etcd.
	c.Close()
	cli, err := clientv3.New(clientv3.Config{Endpoints: ec.endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	for backoff := 10 * time.Millisecond; ; backoff = min(2*backoff, 200*time.Millisecond) {
		left := queueKeys(t, ctx, cli, "once/o/n/q/")
		if len(left) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("left in etcd after the consumer's session ended: %v", left)
		case <-time.After(backoff):
		}
	}
}

// queueKeys lists a queue's item and claim keys in etcd.
func queueKeys(t *testing.T, ctx context.Context, cli *clientv3.Client, prefix string) []string {
	t.Helper()
	r, err := cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, kv := range r.Kvs {
		if k := strings.TrimPrefix(string(kv.Key), prefix); strings.HasPrefix(k, "i/") || strings.HasPrefix(k, "claim/") {
			keys = append(keys, k)
		}
	}
	return keys
}

// inProcHookedManager is inProcManager with a test hook on its backend and a short
// resume window.
func inProcHookedManager(t *testing.T, endpoints []string, prefix string, hook func(context.Context, string)) mgr.Address {
	t.Helper()
	ctx := testCtx(t, 30*time.Second)
	b, err := etcd.New(ctx, etcd.Config{Endpoints: endpoints, Prefix: prefix, TTL: 10 * time.Second, OpTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	etcd.SetTestHook(b, hook)
	return serveBackend(t, ctx, b, mgr.Address{Network: "tcp", Addr: "127.0.0.1:0"}, mgr.Options{ResumeWindow: 2 * time.Second})
}

// A client cut off from a manager that lives on fails over to another, which adopts its
// session. A Get the old manager still runs for that session — it was waiting for an
// item — must not take the next item: the client will never see its reply. The old
// manager's writes for an adopted session are fenced.
func TestQueueFencedAfterAdoption(t *testing.T) {
	ec := startEtcd(t, 1)
	points := make(chan string, 64)
	a := inProcHookedManager(t, ec.endpoints, "fence", func(_ context.Context, p string) {
		select {
		case points <- p:
		default:
		}
	})
	b := inProcManager(t, ec.endpoints, "fence", 10*time.Second)
	link := testnet.NewCutLink(t, "tcp", a.Addr)
	ctx := testCtx(t, time.Minute)
	states := make(chan mgr.ConnState, 16)
	c, err := mgr.Connect(ctx, mgr.Options{Address: mgr.Address{Network: "tcp", Addr: link.Addr()}, Failover: []mgr.Address{b},
		AuthKey: testKey, OnState: func(s mgr.ConnState, _ error) { states <- s }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q, err := syncmgr.LookupQueue[int](ctx, c, "q")
	if err != nil {
		t.Fatal(err)
	}
	// A Get that waits, on the old manager; the session needs a lease to be adopted, so it
	// takes one item first.
	other := connect(t, b)
	oq, err := syncmgr.LookupQueue[int](ctx, other, "q")
	if err != nil {
		t.Fatal(err)
	}
	if err := oq.Put(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if v, err := q.Get(ctx); v != 1 || err != nil {
		t.Fatalf("Get = %d, %v", v, err)
	}
	got := make(chan error, 1)
	go func() {
		_, err := q.Get(ctx)
		got <- err
	}()
	waitPoint(t, ctx, points, "wait")

	failOver(t, link, states, c)
	if err := <-got; !errors.Is(err, mgr.ErrManagerRestarted) {
		t.Fatalf("the Get in flight at the failover: %v, want ErrManagerRestarted", err)
	}
	if err := oq.Put(ctx, 2); err != nil {
		t.Fatal(err)
	}
	switch p := waitPoint(t, ctx, points, "claimed", "fenced"); p {
	case "claimed":
		t.Fatal("the old manager claimed an item for a session another manager adopted")
	}
	q, err = syncmgr.LookupQueue[int](ctx, c, "q")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := q.GetTimeout(ctx, 10*time.Second); v != 2 || err != nil {
		t.Fatalf("Get through the adopting manager = %d, %v; want 2", v, err)
	}
	if v, err := q.GetNowait(ctx); !errors.Is(err, syncmgr.ErrEmpty) {
		t.Fatalf("GetNowait = %d, %v; want ErrEmpty (item 1 was delivered before the failover)", v, err)
	}
}

// failOver takes the old manager out of the client's reach (it stays up) and waits until
// the client has reconnected to the new one.
func failOver(t *testing.T, link *testnet.CutLink, states <-chan mgr.ConnState, c *mgr.Client) {
	t.Helper()
	link.SetDown(true)
	link.Cut()
	for s := range states {
		if s == mgr.StateRestarted {
			return
		}
		if s == mgr.StateClosed {
			t.Fatalf("the client gave up: %v", c.Err())
		}
	}
}

// waitPoint waits until the hook reports one of want, and returns it.
func waitPoint(t *testing.T, ctx context.Context, points <-chan string, want ...string) string {
	t.Helper()
	for {
		select {
		case p := <-points:
			for _, w := range want {
				if p == w {
					return p
				}
			}
		case <-ctx.Done():
			t.Fatalf("the manager never reached %v", want)
		}
	}
}

// A Get whose caller cancels after its claim committed still hands its item out: the
// reply goes out reserved, the client — its caller still waiting, within CancelGrace —
// accepts it, and the item is the caller's. The queue must count it delivered
// (mgr.OnTaken) and acknowledge it: it used to skip a Get whose ctx had ended, so the
// claim went with the session's lease at its end and the item came back — a second
// delivery, on a manager that never died.
func TestQueueCancelledGetAcceptedIsAcknowledged(t *testing.T) {
	ec := startEtcd(t, 1)
	claimed := make(chan struct{}, 1)
	a := inProcHookedManager(t, ec.endpoints, "accept", func(ctx context.Context, p string) {
		if p == "claimed" {
			claimed <- struct{}{}
			<-ctx.Done() // the Cancel came and was acknowledged: the reply goes out reserved
		}
	})
	ctx := testCtx(t, time.Minute)
	c, err := mgr.Connect(ctx, mgr.Options{Address: a, AuthKey: testKey, CancelGrace: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q, err := syncmgr.LookupQueue[int](ctx, c, "q")
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Put(ctx, 5); err != nil {
		t.Fatal(err)
	}
	gctx, gcancel := context.WithCancel(ctx)
	type result struct {
		v   int
		err error
	}
	got := make(chan result, 1)
	go func() {
		v, err := q.Get(gctx)
		got <- result{v, err}
	}()
	select {
	case <-claimed:
	case <-ctx.Done():
		t.Fatal("the Get never claimed")
	}
	gcancel()
	if r := <-got; r.v != 5 || r.err != nil {
		t.Fatalf("Get cancelled after its claim, replying within the grace = %d, %v; want 5, nil", r.v, r.err)
	}
	// The session's next queue calls acknowledge it (once the client's Accept is in).
	cli, err := clientv3.New(clientv3.Config{Endpoints: ec.endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	for backoff := 10 * time.Millisecond; ; backoff = min(2*backoff, 200*time.Millisecond) {
		if _, err := q.GetNowait(ctx); !errors.Is(err, syncmgr.ErrEmpty) {
			t.Fatalf("GetNowait: %v, want ErrEmpty", err)
		}
		left := queueKeys(t, ctx, cli, "accept/o/n/q/")
		if len(left) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the item the caller took is never acknowledged: %v left in etcd", left)
		case <-time.After(backoff):
		}
	}
	c.Close()
	other := connect(t, a)
	oq, err := syncmgr.LookupQueue[int](ctx, other, "q")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := oq.GetNowait(ctx); !errors.Is(err, syncmgr.ErrEmpty) {
		t.Fatalf("after the taker's session ended, GetNowait = %d, %v; want ErrEmpty", v, err)
	}
}
