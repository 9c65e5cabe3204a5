package etcd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Lock in etcd, learnt from concurrency.Mutex: each acquirer writes a key under <lock>/w/
// attached to its session's lease; the key created first holds the lock, the others
// wait, each watching the deletion of the key created just before its own (no polling,
// no thundering herd). A holder's key vanishes when it releases, or when its session's
// lease goes (the session ended, or its manager died and the TTL passed).
//
// <lock>/owner, a key with no lease, names the holding key. Release deletes it with the
// holding key, in one transaction; a holder whose lease went leaves it behind, so the
// next acquirer finds it naming a key not its own: the lock was abandoned, and it gets
// syncmgr.ErrAbandoned with the lock, as with an in-memory Lock.
//
// The fencing token of a holder is its key's create revision: etcd's revisions grow with
// every write, and holders are ordered by them, so tokens strictly increase from holder
// to holder (FencingToken).

const fencingMethod = "FencingToken"

func init() {
	registerKind(syncmgr.LockTypeID, func(b *Backend) *kind { return lockKind(b, syncmgr.LockTypeID, false) })
	registerKind(syncmgr.RLockTypeID, func(b *Backend) *kind { return lockKind(b, syncmgr.RLockTypeID, true) })
}

// An RLock is a Lock whose holding key carries a count: a session whose lease holds it
// takes it again by adding one (the key keeps its create revision, so its place and its
// fencing token), and only that session may release it, one count at a time.

func lockKind(b *Backend, typeID string, reentrant bool) *kind {
	base := mgr.LookupType(typeID)
	impl := map[string]func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error{
		"Acquire": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			if err := args.Done(); err != nil {
				return err
			}
			_, err := obj.(*lockObj).acquire(ctx, true, time.Time{})
			return err
		},
		"AcquireTimeout": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			t := args.Duration()
			if err := args.Done(); err != nil {
				return err
			}
			var dl time.Time
			if t >= 0 {
				dl = time.Now().Add(t)
			}
			ok, err := obj.(*lockObj).acquire(ctx, true, dl)
			res.Bool(ok)
			return err
		},
		"TryAcquire": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			if err := args.Done(); err != nil {
				return err
			}
			ok, err := obj.(*lockObj).acquire(ctx, false, time.Time{})
			res.Bool(ok)
			return err
		},
		"Release": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			if err := args.Done(); err != nil {
				return err
			}
			return obj.(*lockObj).release(ctx)
		},
		"Count": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			n, err := obj.(*lockObj).count(ctx)
			res.Int64(int64(n))
			return err
		},
		"Locked": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			if err := args.Done(); err != nil {
				return err
			}
			ok, err := obj.(*lockObj).locked(ctx)
			res.Bool(ok)
			return err
		},
	}
	ms := methodsLike(base, impl)
	// One method more than syncmgr's Lock: the generated LockProxy binds to the others by
	// name and never sees it; FencingToken calls it by name.
	ms = append(ms, mgr.Method{Name: fencingMethod, Sig: "func() int64", TakesContext: true,
		Call: func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			if err := args.Done(); err != nil {
				return err
			}
			t, err := obj.(*lockObj).token(ctx)
			res.Int64(t)
			return err
		}})
	return &kind{
		desc: &mgr.TypeDesc{TypeID: base.TypeID, Methods: ms},
		open: func(key string) any { return &lockObj{b: b, key: key, reentrant: reentrant} },
	}
}

// FencingToken returns the fencing token of the etcd-backed lock l, which the caller's
// session must hold: a number that strictly increases from holder to holder, to pass to
// the storage the lock guards, which refuses writes carrying a token lower than one it
// has seen (Kleppmann's fix for a holder that paused past its lease). Against an
// in-memory manager it fails with mgr.ErrUnknownMethod.
func FencingToken(ctx context.Context, l *syncmgr.LockProxy) (int64, error) {
	c, err := l.BeginMethod(fencingMethod)
	if err != nil {
		return 0, err
	}
	res, err := c.Do(ctx)
	if err != nil {
		return 0, err
	}
	t := res.Int64()
	return t, c.End()
}

// lockObj is a manager's handle on one lock in etcd.
type lockObj struct {
	b         *Backend
	key       string
	reentrant bool // an RLock

	mu      sync.Mutex
	lastKey string // the waiter key this manager last granted the lock to ("": none)
	lastRev int64  // its create revision
	// The holding key as this manager last wrote it — the lease it is attached to, its
	// mod revision and count — so that an RLock holder's next Acquire or Release is one
	// transaction conditional on that mod revision, with no read first: any other write
	// to the key (or its deletion) fails the condition.
	lastLease clientv3.LeaseID
	lastMod   int64
	lastCount int
	spare     spareNames // waiter key names known to be gone from etcd, to use again
}

// waiterKey returns a waiter key name for the session with lease: a spare one of its
// own (names.go), or a new one.
func (l *lockObj) waiterKey(lease clientv3.LeaseID) string {
	return l.spare.name(l.waiters() + strconv.FormatInt(int64(lease), 16) + "-")
}

// spareKey keeps key, gone from etcd, for its session's next acquire.
func (l *lockObj) spareKey(key string) { l.spare.give(key) }

func (l *lockObj) waiters() string { return l.key + "/w/" }
func (l *lockObj) owner() string   { return l.key + "/owner" }

// Released implements mgr.Releaser for created locks.
func (l *lockObj) Released() { l.b.releaseKeys(l.key) }

func abandonedBy(prev []byte, mine string) error {
	if len(prev) > 0 && string(prev) != mine {
		return fmt.Errorf("%w (the lock is now held by the caller)", syncmgr.ErrAbandoned)
	}
	return nil
}

func firstValue(r *clientv3.TxnResponse, i int) []byte {
	if kvs := r.Responses[i].GetResponseRange().Kvs; len(kvs) > 0 {
		return kvs[0].Value
	}
	return nil
}

// acquire takes the lock for the caller's session: at once if it is free, else (block)
// once the keys before its own are gone, or never if dl (not zero) passes first.
func (l *lockObj) acquire(ctx context.Context, block bool, dl time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	sl, err := l.b.leases.of(ctx, mgr.CallerOf(ctx))
	if err != nil {
		return false, err
	}
	if l.reentrant {
		if ok, err := l.reenterLast(ctx, sl); err != nil || ok {
			return ok, err
		}
	}
	my := l.waiterKey(sl.id)
	octx, cancel := l.b.op(ctx)
	// Free: take it, and read and replace the owner, in one transaction — while the
	// session is this manager's (fence: after another adopted it, a call still running
	// here must not take a lock for a client that no longer hears from us).
	fenced := len(sl.fenceElse())
	r, err := l.b.cli.Txn(octx).
		If(append(sl.fence(), clientv3.Compare(clientv3.CreateRevision(l.waiters()), "=", 0).WithPrefix())...).
		Then(clientv3.OpGet(l.owner()), clientv3.OpPut(my, "1", clientv3.WithLease(sl.id)), clientv3.OpPut(l.owner(), my)).
		Else(append(sl.fenceElse(), clientv3.OpGet(l.waiters(), clientv3.WithFirstCreate()...))...).
		Commit()
	cancel()
	if err != nil {
		// Whether my was written is unknown: it is not used again.
		return false, storeErr(ctx, "Lock.Acquire", err)
	}
	if r.Succeeded {
		prev := firstValue(r, 0)
		l.granted(my, r.Header.Revision, sl.id)
		l.undoable(ctx, my, r.Header.Revision, prev)
		return true, abandonedBy(prev, my)
	}
	if sl.adopted(r) {
		l.spareKey(my) // not written
		l.b.hook(ctx, "lock-fenced")
		return false, errAdopted("Lock.Acquire")
	}
	if h := r.Responses[fenced].GetResponseRange().Kvs; l.reentrant && len(h) > 0 && clientv3.LeaseID(h[0].Lease) == sl.id {
		// The caller's session holds it: count one more.
		l.spareKey(my) // not written
		ok, err := l.reenter(ctx, h[0], sl)
		if err != nil || ok {
			return ok, err
		}
		return l.acquire(ctx, block, dl) // it changed meanwhile: start again
	}
	if !block {
		l.spareKey(my) // not written
		return false, nil
	}
	mgr.Blocking(ctx)
	wctx := ctx
	if !dl.IsZero() {
		var c context.CancelFunc
		wctx, c = context.WithDeadline(ctx, dl)
		defer c()
	}
	for {
		rev, err := l.enqueue(wctx, ctx, my, sl)
		if err != nil {
			return l.gaveUp(ctx, wctx, my, err)
		}
		held, prev, err := l.waitTurn(wctx, ctx, my, rev, sl)
		if err != nil {
			return l.gaveUp(ctx, wctx, my, err)
		}
		if held {
			l.granted(my, rev, sl.id)
			l.undoable(ctx, my, rev, prev)
			return true, abandonedBy(prev, my)
		}
		// Our key went before we noticed our turn (another session released the lock we
		// were about to get): queue again.
	}
}

// enqueue writes the waiter key my and returns its create revision.
func (l *lockObj) enqueue(wctx, ctx context.Context, my string, sl *sessionLease) (int64, error) {
	select {
	case <-sl.lost:
		return 0, ErrLeaseLost
	default:
	}
	octx, cancel := l.b.op(ctx)
	defer cancel()
	// Only while the session is this manager's (fence): once another adopted it, the
	// adoption dropped this call's key, and a new one would queue for nobody.
	r, err := l.b.cli.Txn(octx).If(sl.fence()...).Then(clientv3.OpPut(my, "1", clientv3.WithLease(sl.id))).Else(sl.fenceElse()...).Commit()
	if err != nil {
		return 0, storeErr(ctx, "Lock.Acquire", err)
	}
	if sl.adopted(r) {
		l.b.hook(ctx, "lock-fenced")
		return 0, errAdopted("Lock.Acquire")
	}
	l.b.hook(ctx, "lock-queued")
	return r.Header.Revision, nil
}

// waitTurn waits until no key created before rev is left, then takes the owner key. It
// returns held false if my vanished meanwhile.
func (l *lockObj) waitTurn(wctx, ctx context.Context, my string, rev int64, sl *sessionLease) (bool, []byte, error) {
	for {
		octx, cancel := l.b.op(ctx)
		r, err := l.b.cli.Get(octx, l.waiters(), append(clientv3.WithLastCreate(), clientv3.WithMaxCreateRev(rev-1))...)
		cancel()
		if err != nil {
			return false, nil, storeErr(ctx, "Lock.Acquire", err)
		}
		if len(r.Kvs) == 0 {
			break
		}
		if err := waitDelete(wctx, l.b.cli, string(r.Kvs[0].Key), r.Header.Revision, sl); err != nil {
			return false, nil, err
		}
	}
	octx, cancel := l.b.op(ctx)
	defer cancel()
	t, err := l.b.cli.Txn(octx).
		If(append(sl.fence(), clientv3.Compare(clientv3.CreateRevision(my), "=", rev))...).
		Then(clientv3.OpGet(l.owner()), clientv3.OpPut(l.owner(), my)).
		Else(sl.fenceElse()...).
		Commit()
	if err != nil {
		return false, nil, storeErr(ctx, "Lock.Acquire", err)
	}
	if sl.adopted(t) { // its turn, for a session that is no longer ours: gaveUp deletes my
		l.b.hook(ctx, "lock-fenced")
		return false, nil, errAdopted("Lock.Acquire")
	}
	if !t.Succeeded {
		return false, nil, nil
	}
	l.b.hook(ctx, "lock-granted")
	return true, firstValue(t, 0), nil
}

// waitDelete waits, on a watch, for key to be deleted after revision rev.
func waitDelete(ctx context.Context, cli *clientv3.Client, key string, rev int64, sl *sessionLease) error {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := cli.Watch(clientv3.WithRequireLeader(cctx), key, clientv3.WithRev(rev+1), clientv3.WithFilterPut())
	for {
		select {
		case wr, ok := <-wch:
			if !ok {
				if err := ctx.Err(); err != nil {
					return err
				}
				return fmt.Errorf("%w: watch of %s ended", ErrUnavailable, key)
			}
			if err := wr.Err(); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return storeErr(ctx, "watch", err)
			}
			if len(wr.Events) > 0 {
				return nil
			}
		case <-sl.lost:
			return ErrLeaseLost
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// gaveUp removes the waiter key of an acquire that ends without the lock. A deadline of
// its own (AcquireTimeout) is "not acquired", not an error.
func (l *lockObj) gaveUp(ctx, wctx context.Context, my string, err error) (bool, error) {
	dctx, cancel := l.b.op(context.WithoutCancel(ctx))
	defer cancel()
	// Only if it is not the holder: a waiter whose turn came as it gave up hands on the
	// lock with the owner key unchanged (abandoned stays abandoned).
	if r, derr := l.b.cli.Delete(dctx, my); derr == nil && r.Deleted > 0 {
		// This call deleted it, so nothing else gives the name back. (Not there, it may
		// have been released — and given back — by another session: not used again.)
		l.spareKey(my)
	}
	if ctx.Err() == nil && wctx.Err() != nil {
		return false, nil
	}
	return false, err
}

// undoable gives the lock back, as it was, should the client never learn it got it.
func (l *lockObj) undoable(ctx context.Context, my string, rev int64, prev []byte) {
	mgr.Undo(ctx, func() {
		octx, cancel := l.b.op(l.b.ctx)
		defer cancel()
		restore := clientv3.OpDelete(l.owner())
		if len(prev) > 0 {
			restore = clientv3.OpPut(l.owner(), string(prev))
		}
		r, err := l.b.cli.Txn(octx).
			If(clientv3.Compare(clientv3.CreateRevision(my), "=", rev)).
			Then(clientv3.OpDelete(my), restore).Commit()
		if err == nil && r.Succeeded {
			l.spareKey(my)
		}
	})
}

// release frees the lock, whoever holds it (any session may release a Lock, as in
// Python): the holding key and the owner key go in one transaction.
func (l *lockObj) release(ctx context.Context) error {
	if l.reentrant {
		return l.releaseOwn(ctx)
	}
	octx, cancel := l.b.op(ctx)
	defer cancel()
	// The holder is most often the last this manager granted: try it first, in one round
	// trip, and learn the actual holder if it is not.
	l.mu.Lock()
	key, rev := l.lastKey, l.lastRev
	l.mu.Unlock()
	if key == "" {
		key = l.waiters() + "none" // never written: the Else branch finds the holder
	}
	for {
		t, err := l.b.cli.Txn(octx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", rev),
				clientv3.Compare(clientv3.CreateRevision(key), ">", 0)).
			Then(clientv3.OpDelete(key), clientv3.OpDelete(l.owner())).
			Else(clientv3.OpGet(l.waiters(), clientv3.WithFirstCreate()...)).Commit()
		if err != nil {
			return storeErr(ctx, "Lock.Release", err)
		}
		if t.Succeeded {
			l.spareKey(key)
			return nil
		}
		kvs := t.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 {
			return fmt.Errorf("%w: Lock.Release", syncmgr.ErrNotHeld)
		}
		key, rev = string(kvs[0].Key), kvs[0].CreateRevision
	}
}

// granted remembers the key this manager last granted the lock to (release tries it
// first), created at rev with count 1 and attached to lease.
func (l *lockObj) granted(key string, rev int64, lease clientv3.LeaseID) {
	l.wrote(key, rev, lease, rev, 1)
}

// wrote remembers the holding key as this manager last wrote it (count 0: it deleted it).
func (l *lockObj) wrote(key string, rev int64, lease clientv3.LeaseID, mod int64, count int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if count == 0 {
		if l.lastKey == key {
			l.lastKey, l.lastRev, l.lastLease, l.lastMod, l.lastCount = "", 0, 0, 0, 0
		}
		return
	}
	l.lastKey, l.lastRev, l.lastLease, l.lastMod, l.lastCount = key, rev, lease, mod, count
}

// last returns the holding key as this manager last wrote it for the session with
// lease, or nil.
func (l *lockObj) last(lease clientv3.LeaseID) *mvccpb.KeyValue {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lastKey == "" || l.lastLease != lease || l.lastMod == 0 {
		return nil
	}
	return &mvccpb.KeyValue{Key: []byte(l.lastKey), CreateRevision: l.lastRev, ModRevision: l.lastMod,
		Lease: int64(lease), Value: []byte(strconv.Itoa(l.lastCount))}
}

func (l *lockObj) locked(ctx context.Context) (bool, error) {
	octx, cancel := l.b.op(ctx)
	defer cancel()
	r, err := l.b.cli.Get(octx, l.waiters(), clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return false, storeErr(ctx, "Lock.Locked", err)
	}
	return r.Count > 0, nil
}

// token returns the holding key's create revision, if the caller's session holds the lock.
func (l *lockObj) token(ctx context.Context) (int64, error) {
	sl, err := l.b.leases.of(ctx, mgr.CallerOf(ctx))
	if err != nil {
		return 0, err
	}
	octx, cancel := l.b.op(ctx)
	defer cancel()
	r, err := l.b.cli.Get(octx, l.waiters(), clientv3.WithFirstCreate()...)
	if err != nil {
		return 0, storeErr(ctx, "Lock."+fencingMethod, err)
	}
	if len(r.Kvs) == 0 || clientv3.LeaseID(r.Kvs[0].Lease) != sl.id {
		return 0, fmt.Errorf("%w: Lock.%s", syncmgr.ErrNotOwner, fencingMethod)
	}
	return r.Kvs[0].CreateRevision, nil
}

func countOf(v []byte) int {
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// reenterLast counts one more acquire of the session with sl's lease in one round trip,
// if this manager last wrote the holding key for it and nobody wrote it since. It
// reports false if not (the caller takes the long way).
func (l *lockObj) reenterLast(ctx context.Context, sl *sessionLease) (bool, error) {
	kv := l.last(sl.id)
	if kv == nil {
		return false, nil
	}
	return l.reenter(ctx, kv, sl)
}

// reenter adds one to the count of the holding key kv (the caller's session's), if it is
// still as read; if not, and the session still holds the lock, to the key as it is now,
// which the same transaction reads. It reports false if the session no longer holds it.
func (l *lockObj) reenter(ctx context.Context, kv *mvccpb.KeyValue, sl *sessionLease) (bool, error) {
	octx, cancel := l.b.op(ctx)
	defer cancel()
	for {
		key, n := string(kv.Key), countOf(kv.Value)+1
		t, err := l.b.cli.Txn(octx).If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)).
			Then(clientv3.OpPut(key, strconv.Itoa(n), clientv3.WithLease(sl.id))).
			Else(clientv3.OpGet(l.waiters(), clientv3.WithFirstCreate()...)).Commit()
		if err != nil {
			return false, storeErr(ctx, "RLock.Acquire", err)
		}
		if t.Succeeded {
			l.wrote(key, kv.CreateRevision, sl.id, t.Header.Revision, n)
			mgr.Undo(ctx, func() { _ = l.releaseLease(l.b.ctx, sl.id) })
			return true, nil
		}
		h := t.Responses[0].GetResponseRange().Kvs
		if len(h) == 0 || clientv3.LeaseID(h[0].Lease) != sl.id {
			l.wrote(key, 0, 0, 0, 0) // forget it
			return false, nil
		}
		kv = h[0]
	}
}

// releaseOwn undoes one acquire of the caller's session, which must hold the RLock.
func (l *lockObj) releaseOwn(ctx context.Context) error {
	sl, err := l.b.leases.of(ctx, mgr.CallerOf(ctx))
	if err != nil {
		return err
	}
	return l.releaseLease(ctx, sl.id)
}

func (l *lockObj) releaseLease(ctx context.Context, lease clientv3.LeaseID) error {
	octx, cancel := l.b.op(ctx)
	defer cancel()
	// The holding key as this manager last wrote it, if it did, else as read; a
	// transaction that finds it changed reads it again in its Else branch.
	kv := l.last(lease)
	for {
		if kv == nil {
			r, err := l.b.cli.Get(octx, l.waiters(), clientv3.WithFirstCreate()...)
			if err != nil {
				return storeErr(ctx, "RLock.Release", err)
			}
			if len(r.Kvs) == 0 {
				return fmt.Errorf("%w: RLock.Release", syncmgr.ErrNotOwner)
			}
			kv = r.Kvs[0]
		}
		if clientv3.LeaseID(kv.Lease) != lease {
			return fmt.Errorf("%w: RLock.Release", syncmgr.ErrNotOwner)
		}
		key := string(kv.Key)
		n := countOf(kv.Value) - 1
		op := []clientv3.Op{clientv3.OpDelete(key), clientv3.OpDelete(l.owner())}
		if n > 0 {
			op = []clientv3.Op{clientv3.OpPut(key, strconv.Itoa(n), clientv3.WithLease(lease))}
		}
		t, err := l.b.cli.Txn(octx).If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)).Then(op...).
			Else(clientv3.OpGet(l.waiters(), clientv3.WithFirstCreate()...)).Commit()
		if err != nil {
			return storeErr(ctx, "RLock.Release", err)
		}
		if t.Succeeded {
			l.wrote(key, kv.CreateRevision, lease, t.Header.Revision, n)
			if n == 0 {
				l.spareKey(key)
			}
			return nil
		}
		kvs := t.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 {
			return fmt.Errorf("%w: RLock.Release", syncmgr.ErrNotOwner)
		}
		kv = kvs[0]
	}
}

// count returns the holder's count (0: free).
func (l *lockObj) count(ctx context.Context) (int, error) {
	octx, cancel := l.b.op(ctx)
	defer cancel()
	r, err := l.b.cli.Get(octx, l.waiters(), clientv3.WithFirstCreate()...)
	if err != nil {
		return 0, storeErr(ctx, "RLock.Count", err)
	}
	if len(r.Kvs) == 0 {
		return 0, nil
	}
	return countOf(r.Kvs[0].Value), nil
}

// heldBy returns the holding key if the session with lease holds the lock, else nil.
func (l *lockObj) heldBy(ctx context.Context, lease clientv3.LeaseID) (*mvccpb.KeyValue, error) {
	octx, cancel := l.b.op(ctx)
	defer cancel()
	r, err := l.b.cli.Get(octx, l.waiters(), clientv3.WithFirstCreate()...)
	if err != nil {
		return nil, storeErr(ctx, "Lock", err)
	}
	if len(r.Kvs) == 0 || clientv3.LeaseID(r.Kvs[0].Lease) != lease {
		return nil, nil
	}
	return r.Kvs[0], nil
}

func isAbandoned(err error) bool { return errors.Is(err, syncmgr.ErrAbandoned) }

func (x *lockObj) storeKey() string { return x.key }
