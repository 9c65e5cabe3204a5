package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mgr-go/mgr/runtime/etcd"
	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// A worker counts items until the Dict says all are counted. A queue in etcd hands an
// item out at least once (an item claimed through a manager that died comes back), and a
// call in flight when a manager dies may or may not have landed; the worker makes the
// count exact with two small marks, written in the same Dict.Update as the count (one
// etcd transaction):
//   - "w<id>": how many updates this worker made, so that after a failover it can tell
//     whether its last one landed;
//   - "wi<id>": the last item it counted; and "x<item>", written after a failover for an
//     item that was counted but perhaps not acknowledged. An item found marked is skipped.
type counter struct {
	id, items int
	seq       int // updates known to have landed
	item      int
	phase     int // 0 idle; 1 item taken; 2 update sent, outcome unknown; 3 counted, not acknowledged
}

func worker() int {
	var addrs []mgr.Address
	for _, s := range strings.Split(os.Getenv("CLUSTER_ADDRS"), ",") {
		a, err := mgr.ParseAddress(s)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		addrs = append(addrs, a)
	}
	id, _ := strconv.Atoi(os.Getenv("CLUSTER_ID"))
	items, _ := strconv.Atoi(os.Getenv("CLUSTER_ITEMS"))
	start, _ := strconv.Atoi(os.Getenv("CLUSTER_START"))
	w := &counter{id: id, items: items}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// Its own manager first, the others as failover: when it dies, the client redials
	// them, and one adopts the session — the client keeps its locks; calls that were in
	// flight fail with mgr.ErrManagerRestarted and proxies must be looked up again.
	k := start % len(addrs)
	var others []mgr.Address
	for i := 1; i < len(addrs); i++ {
		others = append(others, addrs[(k+i)%len(addrs)])
	}
	c, err := mgr.Connect(ctx, mgr.Options{Address: addrs[k], Failover: others, AuthKey: authKey})
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	defer c.Close()
	for adopted := 0; ; adopted++ {
		err := w.work(ctx, c)
		if err == nil {
			fmt.Printf("worker %d: done, %d counted, session adopted %d times\n", id, w.seq, adopted)
			return 0
		}
		if errors.Is(err, etcd.ErrLeaseLost) || errors.Is(err, etcd.ErrUnavailable) {
			// The session's lease expired (its manager could not renew it in time) or etcd
			// was slow: what it held is gone, as after a crash; resolve and go on.
			continue
		}
		if !errors.Is(err, mgr.ErrManagerRestarted) {
			fmt.Fprintf(os.Stderr, "worker %d: %v\n", id, err)
			return 1
		}
		fmt.Printf("worker %d: manager gone; session adopted by another (%v)\n", id, err)
	}
}

func (w *counter) work(ctx context.Context, c *mgr.Client) error {
	q, err := syncmgr.LookupQueue[int](ctx, c, "items")
	if err != nil {
		return err
	}
	d, err := syncmgr.LookupDict[string, int](ctx, c, "totals")
	if err != nil {
		return err
	}
	l, err := syncmgr.LookupLock(ctx, c, "lock")
	if err != nil {
		return err
	}
	lock := func() error {
		// ErrAbandoned: we hold the lock; its last holder's manager died. The Dict is
		// never half-updated (one transaction per Update), so there is nothing to repair.
		if err := l.Acquire(ctx); err != nil && !errors.Is(err, syncmgr.ErrAbandoned) {
			return err
		}
		return nil
	}
	wk, wik := "w"+strconv.Itoa(w.id), "wi"+strconv.Itoa(w.id)
	// After a failover the adopted session may still hold the lock.
	_, terr := etcd.FencingToken(ctx, l)
	held := terr == nil
	if w.phase >= 2 {
		if !held {
			if err := lock(); err != nil {
				return err
			}
		}
		held = true
		m, err := d.Copy(ctx)
		if err != nil {
			return err
		}
		if w.phase == 2 && m[wk] == w.seq+1 {
			w.seq, w.phase = w.seq+1, 3
		}
		if w.phase == 3 {
			if err := d.Set(ctx, "x"+strconv.Itoa(w.item), 1); err != nil {
				return err
			}
		}
	}
	if held {
		if err := l.Release(ctx); err != nil {
			return err
		}
	}
	w.phase = 0 // an item taken but not counted is back in the queue: the adoption dropped its claim
	for {
		v, err := q.GetTimeout(ctx, 300*time.Millisecond)
		if errors.Is(err, syncmgr.ErrEmpty) {
			n, _, err := d.Get(ctx, "n")
			if err != nil {
				return err
			}
			if n >= w.items {
				return nil
			}
			continue
		}
		if err != nil {
			return err
		}
		w.item, w.phase = v, 1
		if err := lock(); err != nil {
			return err
		}
		m, err := d.Copy(ctx)
		if err != nil {
			return err
		}
		seen := m["x"+strconv.Itoa(v)] == 1
		for k, x := range m {
			seen = seen || (strings.HasPrefix(k, "wi") && x == v)
		}
		if !seen {
			w.phase = 2
			if err := d.Update(ctx, map[string]int{"sum": m["sum"] + v, "n": m["n"] + 1, wk: w.seq + 1, wik: v}); err != nil {
				return err
			}
			w.seq, w.phase = w.seq+1, 3
		}
		if err := l.Release(ctx); err != nil {
			return err
		}
		if err := q.TaskDone(ctx); err != nil { // acknowledges the item
			return err
		}
		w.phase = 0
	}
}
