package etcd_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/mgr-go/mgr/runtime/etcd"
	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func addrList(addrs []mgr.Address) string {
	var s []string
	for _, a := range addrs {
		s = append(s, a.String())
	}
	return strings.Join(s, ",")
}

// 3 manager processes on one etcd, 8 worker processes spread across them pass N items
// through one Queue and add each to one Dict counter under one Lock; one manager is
// killed (SIGKILL) mid-run; its workers go on through the others; the counts are exact.
func TestWorkersSurviveManagerKill(t *testing.T) {
	n := 2000
	if testing.Short() || raceBuild {
		n = 400
	}
	if s := os.Getenv("MGRETCD_ITEMS"); s != "" {
		fmt.Sscan(s, &n)
	}
	ec := startEtcd(t, 1)
	// A TTL an overloaded machine does not outrun: a lease that expires under a holder
	// lets another session into the critical section (the hazard fencing tokens guard
	// against; this counter does not use them). Failover does not wait for it: the
	// killed manager's sessions are adopted.
	const ttl = 10 * time.Second
	mps, addrs := startManagers(t, ec.endpoints, "workers", ttl, 3)
	ctx := testCtx(t, 5*time.Minute+time.Duration(n)*30*time.Millisecond) // the lock serialises the items
	c := connect(t, addrs[2])                                             // the test's own session: on a manager that survives
	q, err := syncmgr.LookupQueue[int](ctx, c, "q")
	if err != nil {
		t.Fatal(err)
	}
	d, err := syncmgr.LookupDict[string, int](ctx, c, "d")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 500 {
		items := make([]int, 0, 500)
		for j := i; j < min(i+500, n); j++ {
			items = append(items, j)
		}
		if err := q.PutMany(ctx, items); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	var ws []*proc
	for i := range 8 {
		ws = append(ws, spawn(t, envRole+"=worker", fmt.Sprintf("MGRETCD_ID=%d", i), fmt.Sprintf("MGRETCD_START=%d", i%3),
			fmt.Sprintf("MGRETCD_N=%d", n), "MGRETCD_ADDRS="+addrList(addrs)))
	}
	// Kill manager 0 once a third of the items are counted.
	for backoff := time.Millisecond; ; backoff = min(2*backoff, 100*time.Millisecond) {
		x, _, err := d.Get(ctx, "n")
		if err != nil {
			t.Fatal(err)
		}
		if x >= n/3 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("only %d of %d items counted", x, n)
		case <-time.After(backoff):
		}
	}
	mps[0].cmd.Process.Kill()
	killedAt := time.Now()
	for i, w := range ws {
		select {
		case <-w.done:
		case <-ctx.Done():
			t.Fatalf("worker %d did not finish", i)
		}
		if !w.cmd.ProcessState.Success() {
			t.Fatalf("worker %d: %v", i, w.cmd.ProcessState)
		}
		t.Logf("%s", strings.TrimSpace(w.out.String()))
	}
	m, err := d.Copy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m["n"] != n || m["sum"] != n*(n-1)/2 {
		t.Fatalf("counted n=%d sum=%d, want n=%d sum=%d", m["n"], m["sum"], n, n*(n-1)/2)
	}
	t.Logf("%d items through 3 managers and 8 workers in %v; manager 0 killed after %v, %v before the end",
		n, time.Since(start).Round(time.Millisecond), killedAt.Sub(start).Round(time.Millisecond), time.Since(killedAt).Round(time.Millisecond))
}

// A lock holder's manager is killed: the next acquirer gets the lock with ErrAbandoned
// once the holder's lease expires (TTL), and a higher fencing token.
func TestAbandonedLockAfterManagerKill(t *testing.T) {
	ec := startEtcd(t, 1)
	const ttl = 2 * time.Second
	mps, addrs := startManagers(t, ec.endpoints, "abandon", ttl, 2)
	ctx := testCtx(t, 60*time.Second)
	c0, c1 := connect(t, addrs[0]), connect(t, addrs[1])
	l0, err := syncmgr.LookupLock(ctx, c0, "lock")
	if err != nil {
		t.Fatal(err)
	}
	l1, err := syncmgr.LookupLock(ctx, c1, "lock")
	if err != nil {
		t.Fatal(err)
	}
	if err := l0.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	tok0, err := etcd.FencingToken(ctx, l0)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- l1.Acquire(ctx) }()
	mps[0].cmd.Process.Kill()
	killed := time.Now()
	select {
	case err := <-got:
		if !errors.Is(err, syncmgr.ErrAbandoned) {
			t.Fatalf("Acquire after the holder's manager died: %v, want ErrAbandoned", err)
		}
	case <-time.After(ttl + 30*time.Second):
		t.Fatal("the lock of a dead manager's session was never given on")
	}
	t.Logf("lock abandoned to the next acquirer %v after the holder's manager was killed (TTL %v)", time.Since(killed).Round(time.Millisecond), ttl)
	tok1, err := etcd.FencingToken(ctx, l1)
	if err != nil {
		t.Fatal(err)
	}
	if tok1 <= tok0 {
		t.Fatalf("fencing token %d after %d: not increasing", tok1, tok0)
	}
	if err := l1.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l1.Acquire(ctx); err != nil {
		t.Fatalf("Acquire after a clean release: %v", err)
	}
}

// casInput and casOutput are one operation of the history: a CompareAndSwap or a Get.
type casInput struct {
	get      bool
	old, new int
}

type casOutput struct {
	ok bool
	v  int
}

var casModel = porcupine.Model{
	Init: func() any { return 0 },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(int), input.(casInput), output.(casOutput)
		if in.get {
			return out.v == s, s
		}
		if s == in.old {
			return out.ok, in.new
		}
		return !out.ok, s
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(casInput), output.(casOutput)
		if in.get {
			return fmt.Sprintf("get() → %d", out.v)
		}
		return fmt.Sprintf("cas(%d, %d) → %v", in.old, in.new, out.ok)
	},
}

// Concurrent CompareAndSwap and Get on one Value from 3 managers make a linearizable
// history (checked with porcupine).
func TestValueCASLinearizable(t *testing.T) {
	ec := startEtcd(t, 1)
	var addrs []mgr.Address
	for range 3 {
		addrs = append(addrs, inProcManager(t, ec.endpoints, "cas", 3*time.Second))
	}
	ctx := testCtx(t, 60*time.Second)
	const clients, ops = 6, 40
	var mu sync.Mutex
	var hist []porcupine.Operation
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range clients {
		c := connect(t, addrs[i%3])
		v, err := syncmgr.LookupValue[int](ctx, c, "v")
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ops {
				var in casInput
				var out casOutput
				call := time.Since(t0).Nanoseconds()
				var err error
				if j%3 == 0 {
					in.get = true
					out.v, err = v.Get(ctx)
				} else {
					in.old, in.new = j%4, (j+i)%4
					out.ok, err = v.CompareAndSwap(ctx, in.old, in.new)
				}
				ret := time.Since(t0).Nanoseconds()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				hist = append(hist, porcupine.Operation{ClientId: i, Input: in, Output: out, Call: call, Return: ret})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res := porcupine.CheckOperationsTimeout(casModel, hist, 30*time.Second)
	if res != porcupine.Ok {
		t.Fatalf("history of %d operations is %v", len(hist), res)
	}
	t.Logf("%d operations from %d clients on 3 managers: linearizable", len(hist), clients)
}

// With a 3-member etcd, losing one member does not stop the managers.
func TestThreeMemberEtcdLosesOne(t *testing.T) {
	ec := startEtcd(t, 3)
	a := inProcManager(t, ec.endpoints, "three", 3*time.Second)
	ctx := testCtx(t, 60*time.Second)
	c := connect(t, a)
	d, err := syncmgr.LookupDict[string, int](ctx, c, "d")
	if err != nil {
		t.Fatal(err)
	}
	l, err := syncmgr.LookupLock(ctx, c, "lock")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if i == 5 {
			ec.kill(0)
		}
		if err := l.Acquire(ctx); err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
		if _, err := d.AddNumber(ctx, "k", 1); err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
		if err := l.Release(ctx); err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
	}
	if x, _, err := d.Get(ctx, "k"); x != 20 || err != nil {
		t.Fatalf("k = %d, %v", x, err)
	}
}

// A client whose manager is killed fails over to another manager (Options.Failover),
// which adopts its session's lease: the client keeps its lock (same fencing token), no
// one else gets it meanwhile, even past the TTL, and its release is a clean one.
func TestFailoverKeepsLock(t *testing.T) {
	ec := startEtcd(t, 1)
	const ttl = 3 * time.Second
	mps, addrs := startManagers(t, ec.endpoints, "failover", ttl, 2)
	ctx := testCtx(t, 60*time.Second)
	states := make(chan mgr.ConnState, 16)
	c, err := mgr.Connect(ctx, mgr.Options{Address: addrs[0], Failover: addrs[1:], AuthKey: testKey,
		OnState: func(s mgr.ConnState, _ error) { states <- s }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l, err := syncmgr.LookupLock(ctx, c, "lock")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	tok, err := etcd.FencingToken(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	other := connect(t, addrs[1])
	lo, err := syncmgr.LookupLock(ctx, other, "lock")
	if err != nil {
		t.Fatal(err)
	}

	mps[0].cmd.Process.Kill()
	killed := time.Now()
	for s := range states {
		if s == mgr.StateRestarted {
			break
		}
		if s == mgr.StateClosed {
			t.Fatalf("the client gave up: %v", c.Err())
		}
	}
	t.Logf("session adopted by the other manager %v after the kill", time.Since(killed).Round(time.Millisecond))
	if _, err := l.Locked(ctx); !errors.Is(err, mgr.ErrManagerRestarted) {
		t.Fatalf("a proxy of the old session: %v, want ErrManagerRestarted", err)
	}
	l2, err := syncmgr.LookupLock(ctx, c, "lock")
	if err != nil {
		t.Fatal(err)
	}
	if tok2, err := etcd.FencingToken(ctx, l2); tok2 != tok || err != nil {
		t.Fatalf("after failover the fencing token is %d, %v; want %d (the lock kept)", tok2, err, tok)
	}
	// Past the TTL, the lock is still held: the adopting manager keeps the lease alive.
	if ok, err := lo.AcquireTimeout(ctx, ttl+2*time.Second); ok || err != nil {
		t.Fatalf("another session got the adopted lock: %v, %v", ok, err)
	}
	if err := l2.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := lo.Acquire(ctx); err != nil {
		t.Fatalf("Acquire after a clean release by the adopted session: %v (want no ErrAbandoned)", err)
	}
}

// A created object whose manager dies is collected by the others once the manager's
// lease expires; a live manager's created objects stay.
func TestCreatedObjectsOfADeadManagerAreCollected(t *testing.T) {
	ec := startEtcd(t, 1)
	const ttl = 2 * time.Second
	mps, addrs := startManagers(t, ec.endpoints, "gc", ttl, 2)
	ctx := testCtx(t, 60*time.Second)
	c0, c1 := connect(t, addrs[0]), connect(t, addrs[1])
	d0, err := syncmgr.CreateDict[string, int](ctx, c0)
	if err != nil {
		t.Fatal(err)
	}
	d0.Set(ctx, "a", 1)
	d1, err := syncmgr.CreateDict[string, int](ctx, c1)
	if err != nil {
		t.Fatal(err)
	}
	d1.Set(ctx, "b", 2)
	cli, err := clientv3.New(clientv3.Config{Endpoints: ec.endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	objects := func() map[string]bool {
		r, err := cli.Get(ctx, "gc/o/c/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, kv := range r.Kvs {
			k := strings.TrimPrefix(string(kv.Key), "gc/o/c/")
			m[k[:strings.IndexByte(k, '/')]] = true
		}
		return m
	}
	if n := len(objects()); n != 2 {
		t.Fatalf("%d created objects in etcd, want 2", n)
	}
	mps[0].cmd.Process.Kill()
	killed := time.Now()
	for backoff := 10 * time.Millisecond; len(objects()) != 1; backoff = min(2*backoff, 200*time.Millisecond) {
		select {
		case <-ctx.Done():
			t.Fatalf("the dead manager's object was never collected: %v", objects())
		case <-time.After(backoff):
		}
	}
	t.Logf("collected %v after the kill (TTL %v)", time.Since(killed).Round(time.Millisecond), ttl)
	if x, ok, err := d1.Get(ctx, "b"); x != 2 || !ok || err != nil {
		t.Fatalf("the live manager's object: %d, %v, %v", x, ok, err)
	}
}
