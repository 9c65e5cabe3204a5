package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mgr-go/mgr/runtime/etcd"
	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// A worker takes items from the queue "q" and, under the lock "lock", adds each to the
// counter "sum" of the dict "d" (and 1 to "n"), until "n" reaches MGRETCD_N. When its
// manager dies it connects to the next one and goes on.
//
// Exactly once, with a manager that may die at any point: the queue hands an item out
// at least once (a claim whose manager died returns its item), and a call in flight when
// the manager died may or may not have been applied. So each worker's update also
// writes "w<id>" (how many updates it applied) and "wi<id>" (the last item it applied),
// in the same Dict.Update — one etcd transaction. After a failover the worker learns
// from "w<id>" whether its last update landed, and if it did marks the item "x<item>",
// as one that may come back; any worker skips an item that is marked, or is some
// worker's last applied item (whose mark may not be written yet).
type worker struct {
	id, n int
	seq   int // updates this worker knows it applied

	item  int
	phase int // 0: no item; 1: got item; 2: update sent, outcome unknown; 3: applied, not acknowledged
}

func runWorker() int {
	var addrs []mgr.Address
	for _, s := range strings.Split(os.Getenv("MGRETCD_ADDRS"), ",") {
		a, err := mgr.ParseAddress(s)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		addrs = append(addrs, a)
	}
	w := &worker{id: atoiEnv("MGRETCD_ID"), n: atoiEnv("MGRETCD_N")}
	start := atoiEnv("MGRETCD_START")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute+time.Duration(w.n)*30*time.Millisecond)
	defer cancel()
	failovers, adoptions, lost, processed := 0, 0, 0, 0
	for {
		// Its manager first, the others as failover: a manager that dies is replaced by
		// another, which adopts the session (the client keeps its locks).
		k := start % len(addrs)
		var others []mgr.Address
		for i := 1; i < len(addrs); i++ {
			others = append(others, addrs[(k+i)%len(addrs)])
		}
		c, err := mgr.Connect(ctx, mgr.Options{Address: addrs[k], Failover: others, AuthKey: testKey})
		if err != nil {
			start++
			failovers++
			continue
		}
		for {
			_, err = w.runCounted(ctx, c, &processed)
			if errors.Is(err, etcd.ErrLeaseLost) || errors.Is(err, etcd.ErrUnavailable) {
				lost++ // the session's lease expired (an overloaded manager), or etcd was slow
				continue
			}
			if !errors.Is(err, mgr.ErrManagerRestarted) {
				break
			}
			adoptions++ // the same client, a new session on another manager
		}
		c.Close()
		if err == nil {
			fmt.Printf("worker %d: processed %d, sessions adopted %d, reconnects %d, leases lost %d\n", w.id, processed, adoptions, failovers, lost)
			return 0
		}
		if !reconnectable(err) {
			fmt.Fprintf(os.Stderr, "worker %d: %v\n", w.id, err)
			return 1
		}
		failovers++
		start = k + 1
	}
}

// runCounted works through one manager until the work is done (nil) or an error; the
// bool is unused (reconnectable decides).
func (w *worker) runCounted(ctx context.Context, c *mgr.Client, processed *int) (bool, error) {
	q, err := syncmgr.LookupQueue[int](ctx, c, "q")
	if err != nil {
		return false, err
	}
	d, err := syncmgr.LookupDict[string, int](ctx, c, "d")
	if err != nil {
		return false, err
	}
	l, err := syncmgr.LookupLock(ctx, c, "lock")
	if err != nil {
		return false, err
	}
	lock := func() error {
		if err := l.Acquire(ctx); err != nil && !errors.Is(err, syncmgr.ErrAbandoned) {
			return err
		}
		return nil
	}
	wk, wik := fmt.Sprintf("w%d", w.id), fmt.Sprintf("wi%d", w.id)
	// After a failover the session may hold the lock still (its lease was adopted).
	_, terr := etcd.FencingToken(ctx, l)
	held := terr == nil
	if w.phase >= 2 { // resolve what the dead manager left unknown
		if !held {
			if err := lock(); err != nil {
				return false, err
			}
		}
		held = true
		m, err := d.Copy(ctx)
		if err != nil {
			return false, err
		}
		if w.phase == 2 && m[wk] == w.seq+1 {
			w.seq++
			w.phase = 3
		}
		if w.phase == 3 {
			if err := d.Set(ctx, fmt.Sprintf("x%d", w.item), 1); err != nil {
				return false, err
			}
		}
	}
	if held {
		if err := l.Release(ctx); err != nil {
			return false, err
		}
	}
	w.phase = 0 // an item not applied comes back: its claim was dropped (adopted) or expires
	for {
		v, err := q.GetTimeout(ctx, 300*time.Millisecond)
		if errors.Is(err, syncmgr.ErrEmpty) {
			n, _, err := d.Get(ctx, "n")
			if err != nil {
				return false, err
			}
			if n >= w.n {
				return false, nil
			}
			continue
		}
		if err != nil {
			return false, err
		}
		w.item, w.phase = v, 1
		if err := lock(); err != nil {
			return false, err
		}
		m, err := d.Copy(ctx)
		if err != nil {
			return false, err
		}
		skip := m[fmt.Sprintf("x%d", v)] == 1
		for k, x := range m {
			if strings.HasPrefix(k, "wi") && x == v {
				skip = true
			}
		}
		if !skip {
			w.phase = 2
			err := d.Update(ctx, map[string]int{"sum": m["sum"] + v, "n": m["n"] + 1, wk: w.seq + 1, wik: v})
			if err != nil {
				return false, err
			}
			w.seq++
			w.phase = 3
			if processed != nil {
				*processed++
			}
		}
		if err := l.Release(ctx); err != nil {
			return false, err
		}
		if err := q.TaskDone(ctx); err != nil {
			return false, err
		}
		w.phase = 0
	}
}
