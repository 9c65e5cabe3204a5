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
// manager dies another adopts its session (Options.Failover) and it goes on there.
//
// Exactly once, with a manager that may die at any point: the queue hands each item out
// once — an item the worker got stays its own across the failover (the adoption
// acknowledges it), a Get that failed gave nothing — so the worker needs no mark on the
// items. What it resolves itself is its own write: a Dict.Update in flight when the
// manager died may or may not have landed. So each update also writes "w<id>" (how many
// updates this worker applied), in the same Dict.Update — one etcd transaction — and
// after a failover the worker reads it to learn which.
type worker struct {
	id, n int
	seq   int // updates this worker knows it applied

	item  int
	phase int // 0: no item; 1: got item, not counted; 2: update sent, outcome unknown
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
		// another, which adopts the session (the client keeps its locks and its items).
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
			err = w.run(ctx, c, &processed)
			if errors.Is(err, etcd.ErrUnavailable) {
				lost++ // etcd was slow: transient; the session and its item are intact
				continue
			}
			if errors.Is(err, etcd.ErrLeaseLost) {
				// The session's lease expired (an overloaded manager): its claim went with
				// it, and the item it got is back in the queue.
				lost++
				if w.phase == 2 {
					fmt.Fprintf(os.Stderr, "worker %d: lease lost with an update of item %d in flight: it may be counted twice\n", w.id, w.item)
				}
				w.phase = 0
				continue
			}
			if !errors.Is(err, mgr.ErrManagerRestarted) {
				break
			}
			adoptions++ // the same client, a new session on another manager
		}
		c.Close()
		if err == nil {
			fmt.Printf("worker %d: processed %d, sessions adopted %d, reconnects %d, transient errors %d\n", w.id, processed, adoptions, failovers, lost)
			return 0
		}
		if !reconnectable(err) {
			fmt.Fprintf(os.Stderr, "worker %d: %v\n", w.id, err)
			return 1
		}
		if w.phase != 0 {
			// A new session, not an adoption: the old one's claim expires with its lease
			// and its item comes back to the queue — at-least-once, which this count cannot absorb.
			fmt.Fprintf(os.Stderr, "worker %d: session lost, not adopted, with item %d in hand: %v\n", w.id, w.item, err)
			return 1
		}
		failovers++
		start = k + 1
	}
}

// run works through one session until the work is done (nil) or an error.
func (w *worker) run(ctx context.Context, c *mgr.Client, processed *int) error {
	q, err := syncmgr.LookupQueue[int](ctx, c, "q")
	if err != nil {
		return err
	}
	d, err := syncmgr.LookupDict[string, int](ctx, c, "d")
	if err != nil {
		return err
	}
	l, err := syncmgr.LookupLock(ctx, c, "lock")
	if err != nil {
		return err
	}
	wk := fmt.Sprintf("w%d", w.id)
	// After a failover the session may hold the lock still (its lease was adopted).
	_, terr := etcd.FencingToken(ctx, l)
	held := terr == nil
	if w.phase == 2 { // did the update in flight land?
		x, _, err := d.Get(ctx, wk)
		if err != nil {
			return err
		}
		if x == w.seq+1 {
			w.seq, w.phase = w.seq+1, 0
			*processed++
		} else {
			w.phase = 1
		}
	}
	if held && w.phase == 0 {
		if err := l.Release(ctx); err != nil {
			return err
		}
		held = false
	}
	for {
		if w.phase == 0 {
			v, err := q.GetTimeout(ctx, 300*time.Millisecond)
			if errors.Is(err, syncmgr.ErrEmpty) {
				n, _, err := d.Get(ctx, "n")
				if err != nil {
					return err
				}
				if n >= w.n {
					return nil
				}
				continue
			}
			if err != nil {
				return err
			}
			w.item, w.phase = v, 1
		}
		if !held {
			if err := l.Acquire(ctx); err != nil && !errors.Is(err, syncmgr.ErrAbandoned) {
				return err
			}
			held = true
		}
		m, err := d.Copy(ctx)
		if err != nil {
			return err
		}
		w.phase = 2
		if err := d.Update(ctx, map[string]int{"sum": m["sum"] + w.item, "n": m["n"] + 1, wk: w.seq + 1}); err != nil {
			return err
		}
		w.seq, w.phase = w.seq+1, 0
		*processed++
		if err := l.Release(ctx); err != nil {
			return err
		}
		held = false
		// Counts the task done for Join; the item is acknowledged at the next Get, or by
		// the adoption if the manager dies first. A TaskDone in flight then may or may
		// not have counted: it is not said again.
		if err := q.TaskDone(ctx); err != nil {
			return err
		}
	}
}
