package etcd

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Barrier in etcd. <b>/state is "<generation> <broken 0|1>"; each waiter of generation g
// writes <b>/w/<g>/<id>, attached to its session's lease, and watches. The last party
// ends the generation in one transaction: the next generation in state, "tripped" in
// <b>/out/<g>, the waiter keys deleted. A waiter key that vanishes otherwise — its
// session ended, or its manager died and the lease expired — breaks the barrier, as does
// a waiter that gives up: "broken" in <b>/out/<g>, and the state broken until Reset.
// <b>/meta holds the number of parties.

func init() {
	registerKind(syncmgr.BarrierTypeID, barrierKind)
}

func barrierKind(b *Backend) *kind {
	base := mgr.LookupType(syncmgr.BarrierTypeID)
	wait := func(timed bool) qcall {
		return func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			var dl time.Time
			if timed {
				if t := args.Duration(); t >= 0 {
					dl = time.Now().Add(t)
				}
			}
			if err := args.Done(); err != nil {
				return err
			}
			i, err := obj.(*barrierObj).wait(ctx, dl)
			res.Int64(int64(i))
			return err
		}
	}
	info := func(f func(st barrierState) int64) qcall {
		return func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			st, err := obj.(*barrierObj).state(ctx)
			res.Int64(f(st))
			return err
		}
	}
	impl := map[string]qcall{
		"Wait":        wait(false),
		"WaitTimeout": wait(true),
		"Parties":     info(func(st barrierState) int64 { return int64(st.parties) }),
		"NWaiting":    info(func(st barrierState) int64 { return st.waiting }),
		"Broken": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			st, err := obj.(*barrierObj).state(ctx)
			res.Bool(st.broken)
			return err
		},
		"Abort": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			return obj.(*barrierObj).end(ctx, true, "broken")
		},
		"Reset": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			return obj.(*barrierObj).end(ctx, false, "broken")
		},
	}
	return &kind{
		desc: &mgr.TypeDesc{TypeID: base.TypeID, Methods: methodsLike(base, impl)},
		open: func(key string) any { return &barrierObj{b: b, key: key} },
		init: func(key string, args []byte) ([]clientv3.Op, error) {
			d := mgr.NewDecoder(args)
			n := d.Int()
			if err := d.Done(); err != nil {
				return nil, err
			}
			if n < 1 {
				return nil, fmt.Errorf("%w: a barrier needs at least one party, not %d", syncmgr.ErrInvalid, n)
			}
			return []clientv3.Op{clientv3.OpPut(key+"/meta", strconv.Itoa(n)), clientv3.OpPut(key+"/state", "0 0")}, nil
		},
	}
}

// barrierObj is a manager's handle on one barrier in etcd.
type barrierObj struct {
	b   *Backend
	key string
}

// Released implements mgr.Releaser for created barriers.
func (o *barrierObj) Released() { o.b.releaseKeys(o.key) }

// barrierState is a barrier as etcd has it at revision rev.
type barrierState struct {
	rev      int64
	stateRev int64 // mod revision of <b>/state
	gen      int64
	broken   bool
	parties  int
	waiting  int64
}

func (o *barrierObj) stateKey() string          { return o.key + "/state" }
func (o *barrierObj) waiters(g int64) string    { return o.key + "/w/" + strconv.FormatInt(g, 10) + "/" }
func (o *barrierObj) outcomeKey(g int64) string { return o.key + "/out/" + strconv.FormatInt(g, 10) }

func (o *barrierObj) state(ctx context.Context) (barrierState, error) {
	octx, cancel := o.b.op(ctx)
	defer cancel()
	r, err := o.b.cli.Txn(octx).Then(clientv3.OpGet(o.stateKey()), clientv3.OpGet(o.key+"/meta")).Commit()
	if err != nil {
		return barrierState{}, storeErr(ctx, "Barrier", err)
	}
	kvs := r.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		return barrierState{}, fmt.Errorf("%w: the barrier at %s is gone from etcd", mgr.ErrUnknownObject, o.key)
	}
	st := barrierState{rev: r.Header.Revision, stateRev: kvs[0].ModRevision}
	var broken int
	fmt.Sscanf(string(kvs[0].Value), "%d %d", &st.gen, &broken)
	st.broken = broken != 0
	st.parties, _ = strconv.Atoi(string(firstValue(r, 1)))
	c, err := o.b.cli.Get(octx, o.waiters(st.gen), clientv3.WithPrefix(), clientv3.WithCountOnly(), clientv3.WithRev(st.rev))
	if err != nil {
		return barrierState{}, storeErr(ctx, "Barrier", err)
	}
	st.waiting = c.Count
	return st, nil
}

// endOps end generation st.gen with outcome ("tripped" or "broken"), the barrier left
// broken or not.
func (o *barrierObj) endOps(st barrierState, broken bool, outcome string) []clientv3.Op {
	b := "0"
	if broken {
		b = "1"
	}
	return []clientv3.Op{
		clientv3.OpPut(o.stateKey(), strconv.FormatInt(st.gen+1, 10)+" "+b),
		clientv3.OpPut(o.outcomeKey(st.gen), outcome),
		clientv3.OpDelete(o.outcomeKey(st.gen - 2)), // its waiters are long gone
		clientv3.OpDelete(o.waiters(st.gen), clientv3.WithPrefix()),
	}
}

// end ends the current generation: Abort (broken stays) or Reset (a fresh barrier);
// its waiters get ErrBrokenBarrier either way.
func (o *barrierObj) end(ctx context.Context, broken bool, outcome string) error {
	for {
		st, err := o.state(ctx)
		if err != nil {
			return err
		}
		octx, cancel := o.b.op(ctx)
		t, err := o.b.cli.Txn(octx).If(clientv3.Compare(clientv3.ModRevision(o.stateKey()), "=", st.stateRev)).
			Then(o.endOps(st, broken, outcome)...).Commit()
		cancel()
		if err != nil {
			return storeErr(ctx, "Barrier", err)
		}
		if t.Succeeded {
			return nil
		}
	}
}

// breakGen breaks generation st.gen unless it has ended already.
func (o *barrierObj) breakGen(ctx context.Context, st barrierState) {
	octx, cancel := o.b.op(context.WithoutCancel(ctx))
	defer cancel()
	_, _ = o.b.cli.Txn(octx).If(clientv3.Compare(clientv3.ModRevision(o.stateKey()), "=", st.stateRev)).
		Then(o.endOps(st, true, "broken")...).Commit()
}

// wait joins the current generation and waits for it to trip (the caller's arrival
// index) or break.
func (o *barrierObj) wait(ctx context.Context, dl time.Time) (int, error) {
	sl, err := o.b.leases.of(ctx, mgr.CallerOf(ctx))
	if err != nil {
		return 0, err
	}
	id := strconv.FormatInt(int64(sl.id), 16) + "-" + strconv.FormatUint(waiterSeq.Add(1), 10)
	for {
		st, err := o.state(ctx)
		if err != nil {
			return 0, err
		}
		if st.broken {
			return 0, syncmgr.ErrBrokenBarrier
		}
		idx := int(st.waiting)
		// Nobody joined since the count was read: the index is ours.
		same := []clientv3.Cmp{
			clientv3.Compare(clientv3.ModRevision(o.stateKey()), "=", st.stateRev),
			clientv3.Compare(clientv3.ModRevision(o.waiters(st.gen)), "<", st.rev+1).WithPrefix(),
		}
		var ops []clientv3.Op
		if idx+1 >= st.parties {
			ops = o.endOps(st, false, "tripped")
		} else {
			ops = []clientv3.Op{clientv3.OpPut(o.waiters(st.gen)+id, strconv.Itoa(idx), clientv3.WithLease(sl.id))}
		}
		octx, cancel := o.b.op(ctx)
		t, err := o.b.cli.Txn(octx).If(same...).Then(ops...).Commit()
		cancel()
		if err != nil {
			return 0, storeErr(ctx, "Barrier.Wait", err)
		}
		if !t.Succeeded {
			continue
		}
		if idx+1 >= st.parties {
			return idx, nil
		}
		return idx, o.await(ctx, dl, st, t.Header.Revision)
	}
}

// await waits, on a watch from rev, for generation st.gen to end.
func (o *barrierObj) await(ctx context.Context, dl time.Time, st barrierState, rev int64) error {
	mgr.Blocking(ctx)
	wctx := ctx
	if !dl.IsZero() {
		var c context.CancelFunc
		wctx, c = context.WithDeadline(ctx, dl)
		defer c()
	}
	cctx, cancel := context.WithCancel(wctx)
	defer cancel()
	out, wpfx := o.outcomeKey(st.gen), o.waiters(st.gen)
	wch := o.b.cli.Watch(clientv3.WithRequireLeader(cctx), o.key+"/", clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	for {
		select {
		case wr, ok := <-wch:
			if ok && wr.Err() == nil {
				var left bool
				for _, ev := range wr.Events {
					k := string(ev.Kv.Key)
					if k == out && ev.Type == clientv3.EventTypePut {
						if string(ev.Kv.Value) == "tripped" {
							return nil
						}
						return syncmgr.ErrBrokenBarrier
					}
					left = left || (ev.Type == clientv3.EventTypeDelete && strings.HasPrefix(k, wpfx))
				}
				if left { // a waiter's session went: break the barrier for all
					o.breakGen(ctx, st)
				}
				continue
			}
			if wctx.Err() != nil {
				break
			}
			if !ok {
				return fmt.Errorf("%w: watch of %s ended", ErrUnavailable, o.key)
			}
			return storeErr(ctx, "Barrier.Wait", wr.Err())
		case <-wctx.Done():
		}
		// Gave up (ctx, timeout): that breaks the barrier, as a timeout does in Python —
		// unless it tripped just now.
		o.breakGen(ctx, st)
		gctx, gcancel := o.b.op(context.WithoutCancel(ctx))
		v, err := o.b.cli.Get(gctx, out)
		gcancel()
		if err == nil && len(v.Kvs) > 0 && string(v.Kvs[0].Value) == "tripped" {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", syncmgr.ErrBrokenBarrier, ctx.Err())
		}
		return fmt.Errorf("%w: timed out", syncmgr.ErrBrokenBarrier)
	}
}

func (x *barrierObj) storeKey() string { return x.key }
