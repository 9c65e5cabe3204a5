package etcd

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Semaphore and BoundedSemaphore in etcd. <sem>/free counts the free permits; each taken
// permit is two keys: <sem>/h/<id>, attached to the taking session's lease, and
// <sem>/o/<id>, with no lease. Release deletes both and adds to free, in one
// transaction. A permit whose session's lease went (the client died, or its manager and
// then the TTL) leaves <sem>/o/<id> alone: an orphan, which the next acquirer takes
// over, with syncmgr.ErrAbandoned, as with an in-memory semaphore. <sem>/meta holds the
// initial value (the bound of a BoundedSemaphore).

func init() {
	registerKind(syncmgr.SemaphoreTypeID, func(b *Backend) *kind { return semKind(b, syncmgr.SemaphoreTypeID, false) })
	registerKind(syncmgr.BoundedSemaphoreTypeID, func(b *Backend) *kind { return semKind(b, syncmgr.BoundedSemaphoreTypeID, true) })
}

func semKind(b *Backend, typeID string, bounded bool) *kind {
	base := mgr.LookupType(typeID)
	acquire := func(block, timed, result bool) qcall {
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
			ok, err := obj.(*semObj).acquire(ctx, block, dl)
			if result {
				res.Bool(ok)
			}
			return err
		}
	}
	impl := map[string]qcall{
		"Acquire":        acquire(true, false, false),
		"AcquireTimeout": acquire(true, true, true),
		"TryAcquire":     acquire(false, false, true),
		"Release": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			n := 1
			if !bounded {
				n = args.Int()
			}
			if err := args.Done(); err != nil {
				return err
			}
			if n < 1 {
				return fmt.Errorf("%w: Release(%d)", syncmgr.ErrInvalid, n)
			}
			return obj.(*semObj).release(ctx, n, nil)
		},
		"Value": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			st, err := obj.(*semObj).state(ctx)
			res.Int64(int64(st.free + len(st.orphans)))
			return err
		},
	}
	return &kind{
		desc: &mgr.TypeDesc{TypeID: base.TypeID, Methods: methodsLike(base, impl)},
		open: func(key string) any { return &semObj{b: b, key: key, bounded: bounded} },
		init: func(key string, args []byte) ([]clientv3.Op, error) {
			d := mgr.NewDecoder(args)
			v := d.Int()
			if err := d.Done(); err != nil {
				return nil, err
			}
			if v < 0 {
				return nil, fmt.Errorf("%w: semaphore value %d", syncmgr.ErrInvalid, v)
			}
			return []clientv3.Op{clientv3.OpPut(key+"/meta", strconv.Itoa(v)), clientv3.OpPut(key+"/free", strconv.Itoa(v))}, nil
		},
	}
}

// semObj is a manager's handle on one semaphore in etcd.
type semObj struct {
	b       *Backend
	key     string
	bounded bool
	spare   spareNames // permit ids known to be gone from etcd, to use again (names.go)
}

// Released implements mgr.Releaser for created semaphores.
func (s *semObj) Released() { s.b.releaseKeys(s.key) }

func (s *semObj) freeKey() string          { return s.key + "/free" }
func (s *semObj) heldKey(id string) string { return s.key + "/h/" + id }
func (s *semObj) markKey(id string) string { return s.key + "/o/" + id }

// semState is a semaphore as etcd has it at one revision.
type semState struct {
	rev     int64
	free    int
	freeRev int64
	initial int
	held    []*mvccpb.KeyValue // <sem>/h/ keys, oldest first
	orphans []*mvccpb.KeyValue // <sem>/o/ keys whose <sem>/h/ key is gone
}

func (s *semObj) state(ctx context.Context) (semState, error) {
	octx, cancel := s.b.op(ctx)
	defer cancel()
	r, err := s.b.cli.Txn(octx).Then(
		clientv3.OpGet(s.freeKey()),
		clientv3.OpGet(s.key+"/meta"),
		clientv3.OpGet(s.key+"/h/", clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend)),
		clientv3.OpGet(s.key+"/o/", clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))).Commit()
	if err != nil {
		return semState{}, storeErr(ctx, "Semaphore", err)
	}
	st := semState{rev: r.Header.Revision}
	fk := r.Responses[0].GetResponseRange().Kvs
	if len(fk) == 0 {
		return st, fmt.Errorf("%w: the semaphore at %s is gone from etcd", mgr.ErrUnknownObject, s.key)
	}
	st.free, _ = strconv.Atoi(string(fk[0].Value))
	st.freeRev = fk[0].ModRevision
	st.initial, _ = strconv.Atoi(string(firstValue(r, 1)))
	st.held = r.Responses[2].GetResponseRange().Kvs
	live := map[string]bool{}
	for _, kv := range st.held {
		live[lastPart(kv.Key)] = true
	}
	for _, kv := range r.Responses[3].GetResponseRange().Kvs {
		if !live[lastPart(kv.Key)] {
			st.orphans = append(st.orphans, kv)
		}
	}
	return st, nil
}

// acquire takes a permit for the caller's session: an orphan's (with ErrAbandoned), or
// a free one, waiting for one (block) until dl (zero: no limit).
func (s *semObj) acquire(ctx context.Context, block bool, dl time.Time) (bool, error) {
	sl, err := s.b.leases.of(ctx, mgr.CallerOf(ctx))
	if err != nil {
		return false, err
	}
	id := s.spare.name(strconv.FormatInt(int64(sl.id), 16) + "-")
	written := false // or maybe: the id is not used again
	defer func() {
		if !written {
			s.spare.give(id)
		}
	}()
	take := []clientv3.Op{clientv3.OpPut(s.heldKey(id), "", clientv3.WithLease(sl.id)), clientv3.OpPut(s.markKey(id), "")}
	wctx := ctx
	if !dl.IsZero() {
		var c context.CancelFunc
		wctx, c = context.WithDeadline(ctx, dl)
		defer c()
	}
	for {
		st, err := s.state(ctx)
		if err != nil {
			return false, err
		}
		var cmp []clientv3.Cmp
		ops := take
		abandoned := false
		switch {
		case len(st.orphans) > 0:
			o := st.orphans[0]
			n := lastPart(o.Key)
			cmp = []clientv3.Cmp{
				clientv3.Compare(clientv3.CreateRevision(s.heldKey(n)), "=", 0),
				clientv3.Compare(clientv3.CreateRevision(s.markKey(n)), "=", o.CreateRevision)}
			ops = append([]clientv3.Op{clientv3.OpDelete(s.markKey(n))}, take...)
			abandoned = true
		case st.free > 0:
			cmp = []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(s.freeKey()), "=", st.freeRev)}
			ops = append([]clientv3.Op{clientv3.OpPut(s.freeKey(), strconv.Itoa(st.free-1))}, take...)
		default:
			if !block {
				return false, nil
			}
			mgr.Blocking(ctx)
			if err := s.waitChange(wctx, st.rev); err != nil {
				if ctx.Err() == nil && wctx.Err() != nil {
					return false, nil
				}
				return false, err
			}
			continue
		}
		// Only while the session is this manager's (fence): after another adopted it, a
		// call still running here must not take a permit nobody will hear of.
		octx, cancel := s.b.op(ctx)
		t, err := s.b.cli.Txn(octx).If(append(sl.fence(), cmp...)...).Then(ops...).Else(sl.fenceElse()...).Commit()
		cancel()
		if err != nil {
			written = true // maybe
			return false, storeErr(ctx, "Semaphore.Acquire", err)
		}
		if sl.adopted(t) {
			s.b.hook(ctx, "sem-fenced")
			return false, errAdopted("Semaphore.Acquire")
		}
		if !t.Succeeded {
			continue
		}
		written = true
		mgr.Undo(ctx, func() { _ = s.release(s.b.ctx, 1, &id) })
		if abandoned {
			return true, fmt.Errorf("%w (the permit is now held by the caller)", syncmgr.ErrAbandoned)
		}
		return true, nil
	}
}

func (s *semObj) waitChange(ctx context.Context, rev int64) error {
	q := &queueObj{b: s.b, key: s.key}
	return q.waitChange(ctx, rev)
}

// release returns n permits: taken ones first (the caller's session's, then the oldest;
// only the permit named by only, if not nil), then, for a Semaphore, new ones.
func (s *semObj) release(ctx context.Context, n int, only *string) error {
	var mine clientv3.LeaseID
	if c := mgr.CallerOf(ctx); only == nil {
		if sl, err := s.b.leases.of(ctx, c); err == nil {
			mine = sl.id
		}
	}
	for {
		st, err := s.state(ctx)
		if err != nil {
			return err
		}
		held := st.held
		if only != nil {
			held = nil
			for _, kv := range st.held {
				if lastPart(kv.Key) == *only {
					held = append(held, kv)
				}
			}
			if len(held) == 0 {
				return nil // released already
			}
		}
		sort.SliceStable(held, func(i, j int) bool {
			return clientv3.LeaseID(held[i].Lease) == mine && clientv3.LeaseID(held[j].Lease) != mine
		})
		k := min(n, len(held))
		if s.bounded && st.free+n+(len(st.held)-k)+len(st.orphans) > st.initial {
			return fmt.Errorf("%w: BoundedSemaphore.Release", syncmgr.ErrOverRelease)
		}
		cmp := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(s.freeKey()), "=", st.freeRev)}
		ops := []clientv3.Op{clientv3.OpPut(s.freeKey(), strconv.Itoa(st.free+n))}
		for _, kv := range held[:k] {
			id := lastPart(kv.Key)
			cmp = append(cmp, clientv3.Compare(clientv3.CreateRevision(s.heldKey(id)), "=", kv.CreateRevision))
			ops = append(ops, clientv3.OpDelete(s.heldKey(id)), clientv3.OpDelete(s.markKey(id)))
		}
		octx, cancel := s.b.op(ctx)
		t, err := s.b.cli.Txn(octx).If(cmp...).Then(ops...).Commit()
		cancel()
		if err != nil {
			return storeErr(ctx, "Semaphore.Release", err)
		}
		if t.Succeeded {
			for _, kv := range held[:k] {
				s.spare.give(lastPart(kv.Key)) // deleted here, with its mark
			}
			return nil
		}
	}
}

func (x *semObj) storeKey() string { return x.key }
