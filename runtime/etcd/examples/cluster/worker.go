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

// A worker counts items until the Dict says all are counted.
//
// The queue hands each item out exactly once, even when a manager dies: an item the
// worker got stays its own when another manager adopts its session (the adoption
// acknowledges it), and a Get that failed gave nothing (its item is back in the queue).
// So the worker keeps no mark on the items. What it must resolve itself is its own
// write: a Dict.Update in flight when the manager died may or may not have landed. Each
// update also writes "w<id>", how many updates this worker made, in the same
// Dict.Update (one etcd transaction); after a failover the worker reads it to learn
// whether its last one landed.
type counter struct {
	id, items int
	seq       int // updates known to have landed
	item      int
	phase     int // 0 idle; 1 item taken, not counted; 2 update sent, outcome unknown
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
	adopted, transient, reconnects := 0, 0, 0
	for k := start % len(addrs); ; k = (k + 1) % len(addrs) {
		// Its own manager first, the others as failover: when it dies, the client redials
		// them, and one adopts the session — the client keeps its locks and the items it
		// got; calls that were in flight fail with mgr.ErrManagerRestarted and proxies
		// must be looked up again.
		var others []mgr.Address
		for i := 1; i < len(addrs); i++ {
			others = append(others, addrs[(k+i)%len(addrs)])
		}
		c, err := mgr.Connect(ctx, mgr.Options{Address: addrs[k], Failover: others, AuthKey: authKey})
		if err != nil && ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond) // a retry's pace, not a wait for anything
		}
		for err == nil {
			err = w.work(ctx, c)
			switch {
			case err == nil:
				c.Close()
				fmt.Printf("worker %d: done, %d counted, session adopted %d times, %d transient errors, %d reconnects\n", id, w.seq, adopted, transient, reconnects)
				return 0
			case errors.Is(err, mgr.ErrManagerRestarted):
				adopted++
				fmt.Printf("worker %d: manager gone; session adopted by another (%v)\n", id, err)
				err = nil
			case errors.Is(err, etcd.ErrLeaseLost):
				// The session's lease expired (its manager could not renew it in time): what
				// it held went with it — its lock, and the claim of the item it had taken,
				// which is back in the queue for another worker.
				transient++
				if w.phase == 2 {
					fmt.Fprintf(os.Stderr, "worker %d: lease lost with the update of item %d in flight: it may be counted twice\n", id, w.item)
				}
				w.phase, err = 0, nil
			case transientErr(ctx, err):
				// etcd slow or briefly unreachable: nothing was half-done, the session and
				// the item it holds are intact; go on.
				transient++
				err = nil
			}
		}
		if c != nil {
			c.Close()
		}
		if ctx.Err() != nil || !(errors.Is(err, mgr.ErrConnLost) || errors.Is(err, mgr.ErrConnect) || errors.Is(err, mgr.ErrShutdown)) {
			fmt.Fprintf(os.Stderr, "worker %d: %v\n", id, err)
			return 1
		}
		// No manager resumed the session in time: a new one, on the next manager. An
		// item in hand was either acknowledged (the old session ended on a live manager)
		// or comes back when its lease expires (a dead one) — this worker cannot tell,
		// so it counts it: exactly once needs the session adopted.
		reconnects++
		if w.phase != 0 {
			fmt.Fprintf(os.Stderr, "worker %d: session lost with item %d in hand (%v): it may be counted twice\n", id, w.item, err)
		}
	}
}

// transientErr says whether err is etcd being slow or unreachable for a moment (its
// operation was not applied, or applied whole): worth trying again.
func transientErr(ctx context.Context, err error) bool {
	if errors.Is(err, etcd.ErrUnavailable) {
		return true
	}
	// A deadline that passed in the manager (not this worker's own: ctx lives on).
	var re *mgr.RemoteError
	return ctx.Err() == nil && errors.As(err, &re) && errors.Is(err, context.DeadlineExceeded)
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
	wk := "w" + strconv.Itoa(w.id)
	// After a failover the adopted session may still hold the lock.
	_, terr := etcd.FencingToken(ctx, l)
	held := terr == nil
	if w.phase == 2 { // did the update in flight land?
		x, _, err := d.Get(ctx, wk)
		if err != nil {
			return err
		}
		if x == w.seq+1 {
			w.seq, w.phase = w.seq+1, 0
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
				if n >= w.items {
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
			// ErrAbandoned: we hold the lock; its last holder's manager died. The Dict is
			// never half-updated (one transaction per Update): nothing to repair.
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
		if err := l.Release(ctx); err != nil {
			return err
		}
		held = false
		// For Join; the item is acknowledged at the next Get (or by an adoption). A
		// TaskDone in flight when a manager dies may or may not have counted: it is not
		// said again.
		if err := q.TaskDone(ctx); err != nil {
			return err
		}
	}
}
