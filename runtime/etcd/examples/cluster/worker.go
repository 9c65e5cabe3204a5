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
	for failovers := 0; ; failovers++ {
		// ResumeWindow -1: a dead manager is not waited for; the next one is asked.
		c, k, err := etcd.Connect(ctx, mgr.Options{AuthKey: authKey, ResumeWindow: -1}, addrs, start)
		if err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			return 1
		}
		err = w.work(ctx, c)
		c.Close()
		if err == nil {
			fmt.Printf("worker %d: done, %d counted, %d failovers\n", id, w.seq, failovers)
			return 0
		}
		if !errors.Is(err, mgr.ErrConnLost) && !errors.Is(err, mgr.ErrShutdown) && !errors.Is(err, mgr.ErrConnect) {
			fmt.Fprintf(os.Stderr, "worker %d: %v\n", id, err)
			return 1
		}
		fmt.Printf("worker %d: manager %s gone (%v); connecting to the next\n", id, addrs[k], err)
		start = k + 1
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
	if w.phase >= 2 {
		if err := lock(); err != nil {
			return err
		}
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
		if err := l.Release(ctx); err != nil {
			return err
		}
	}
	w.phase = 0 // an item taken but not counted comes back when its claim expires
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
