package etcd

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Condition in etcd, over an etcd Lock or RLock (a client's, passed to CreateCondition,
// or one of its own). A waiter writes <cond>/w/<id>, attached to its session's lease,
// before it releases the lock, then watches that key; Notify deletes the oldest waiter
// keys. A waiter that gives up deletes its key only if it is still there: if it is not,
// it was notified. <cond>/meta names the lock: "lock <key>" or "rlock <key>".

func init() {
	registerKind(syncmgr.ConditionTypeID, condKind)
}

func condKind(b *Backend) *kind {
	base := mgr.LookupType(syncmgr.ConditionTypeID)
	lockCall := func(name string) qcall {
		return func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			c := obj.(*condObj)
			l, err := c.lock(ctx)
			if err != nil {
				return err
			}
			lk := b.kind(lockTypeID(l.reentrant))
			return lk.desc.Methods[lk.desc.MethodIndex(name)].Call(ctx, l, args, res)
		}
	}
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
			ok, err := obj.(*condObj).wait(ctx, dl)
			if timed {
				res.Bool(ok)
			}
			return err
		}
	}
	impl := map[string]qcall{
		"Acquire":        lockCall("Acquire"),
		"AcquireTimeout": lockCall("AcquireTimeout"),
		"TryAcquire":     lockCall("TryAcquire"),
		"Locked":         lockCall("Locked"),
		"Release": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			l, err := obj.(*condObj).lock(ctx)
			if err != nil {
				return err
			}
			return l.release(ctx)
		},
		"Wait":        wait(false),
		"WaitTimeout": wait(true),
		"Notify": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			n := args.Int()
			if err := args.Done(); err != nil {
				return err
			}
			return obj.(*condObj).notify(ctx, int64(n))
		},
		"NotifyAll": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			return obj.(*condObj).notify(ctx, -1)
		},
		"Waiting": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			c := obj.(*condObj)
			octx, cancel := b.op(ctx)
			defer cancel()
			r, err := b.cli.Get(octx, c.waiters(), clientv3.WithPrefix(), clientv3.WithCountOnly())
			if err != nil {
				return storeErr(ctx, "Condition.Waiting", err)
			}
			res.Int64(r.Count)
			return nil
		},
	}
	k := &kind{
		desc: &mgr.TypeDesc{TypeID: base.TypeID, Methods: methodsLike(base, impl)},
		open: func(key string) any { return &condObj{b: b, key: key} },
		init: func(key string, args []byte) ([]clientv3.Op, error) {
			// Declare: the name of a declared Lock or RLock, or nothing (an RLock of its own).
			meta := "rlock " + key + "/own"
			if len(args) > 0 {
				d := mgr.NewDecoder(args)
				name := d.String()
				if err := d.Done(); err != nil {
					return nil, fmt.Errorf("a Condition is declared with the name of a declared Lock or RLock: %w", err)
				}
				r, err := b.cli.Get(b.ctx, b.nameKey(name))
				if err != nil || len(r.Kvs) == 0 {
					return nil, fmt.Errorf("no Lock or RLock is declared as %q (%v)", name, err)
				}
				switch string(r.Kvs[0].Value) {
				case syncmgr.LockTypeID:
					meta = "lock " + b.namedObjKey(name)
				case syncmgr.RLockTypeID:
					meta = "rlock " + b.namedObjKey(name)
				default:
					return nil, fmt.Errorf("%q is a %s, not a Lock or RLock", name, r.Kvs[0].Value)
				}
			}
			return []clientv3.Op{clientv3.OpPut(key+"/meta", meta)}, nil
		},
	}
	// Created by a client: the lock comes as a proxy, which the manager resolves to the
	// etcd lock it serves.
	k.desc.New = func(ctx context.Context, args *mgr.Decoder) (any, error) {
		l, _ := args.Referent(syncmgr.LockTypeID).(*lockObj)
		rl, _ := args.Referent(syncmgr.RLockTypeID).(*lockObj)
		if err := args.Done(); err != nil {
			return nil, err
		}
		if l != nil && rl != nil {
			return nil, fmt.Errorf("%w: a Condition takes a Lock or an RLock, not both", syncmgr.ErrInvalid)
		}
		obj, err := b.newObject(ctx, k, nil)
		if err != nil {
			return nil, err
		}
		c := obj.(*condObj)
		meta, lk := "", l
		switch {
		case l != nil:
			meta = "lock " + l.key
		case rl != nil:
			meta, lk = "rlock "+rl.key, rl
		}
		if meta != "" {
			octx, cancel := b.op(ctx)
			defer cancel()
			if _, err := b.cli.Put(octx, c.key+"/meta", meta); err != nil {
				return nil, storeErr(ctx, "CreateCondition", err)
			}
			c.setLock(lk) // the client's lock as this manager serves it: their caches agree
		}
		return c, nil
	}
	return k
}

func lockTypeID(reentrant bool) string {
	if reentrant {
		return syncmgr.RLockTypeID
	}
	return syncmgr.LockTypeID
}

// condObj is a manager's handle on one condition in etcd.
type condObj struct {
	b   *Backend
	key string

	mu    sync.Mutex
	lk    *lockObj   // the condition's lock once known: <cond>/meta never changes after New
	spare spareNames // waiter key names known to be gone from etcd, to use again (names.go)
}

// Released implements mgr.Releaser for created conditions.
func (c *condObj) Released() { c.b.releaseKeys(c.key) }

func (c *condObj) waiters() string { return c.key + "/w/" }

// lock returns the condition's lock, read from <cond>/meta at the first call only.
func (c *condObj) lock(ctx context.Context) (*lockObj, error) {
	c.mu.Lock()
	lk := c.lk
	c.mu.Unlock()
	if lk != nil {
		return lk, nil
	}
	octx, cancel := c.b.op(ctx)
	defer cancel()
	r, err := c.b.cli.Get(octx, c.key+"/meta")
	if err != nil {
		return nil, storeErr(ctx, "Condition", err)
	}
	if len(r.Kvs) == 0 {
		return nil, fmt.Errorf("%w: the condition at %s is gone from etcd", mgr.ErrUnknownObject, c.key)
	}
	var kind, key string
	fmt.Sscanf(string(r.Kvs[0].Value), "%s %s", &kind, &key)
	return c.setLock(&lockObj{b: c.b, key: key, reentrant: kind == "rlock"}), nil
}

// setLock records the condition's lock (the first recorded stays: its caches are in use).
func (c *condObj) setLock(lk *lockObj) *lockObj {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lk == nil {
		c.lk = lk
	}
	return c.lk
}

// wait releases the lock, waits to be notified (or until dl), and takes the lock back
// (with its count, for an RLock). If ctx ends first, it returns without the lock.
func (c *condObj) wait(ctx context.Context, dl time.Time) (bool, error) {
	l, err := c.lock(ctx)
	if err != nil {
		return false, err
	}
	sl, err := c.b.leases.of(ctx, mgr.CallerOf(ctx))
	if err != nil {
		return false, err
	}
	held, err := l.heldBy(ctx, sl.id)
	if err != nil {
		return false, err
	}
	if held == nil {
		return false, fmt.Errorf("%w: Condition.Wait on an un-acquired lock", syncmgr.ErrNotOwner)
	}
	saved := countOf(held.Value)
	me := c.spare.name(c.waiters() + strconv.FormatInt(int64(sl.id), 16) + "-")
	octx, cancel := c.b.op(ctx)
	// Join the waiters and release the lock entirely, in one transaction: a Notify right
	// after the release cannot be missed.
	t, err := c.b.cli.Txn(octx).If(clientv3.Compare(clientv3.CreateRevision(string(held.Key)), "=", held.CreateRevision)).
		Then(clientv3.OpPut(me, "", clientv3.WithLease(sl.id)), clientv3.OpDelete(string(held.Key)), clientv3.OpDelete(l.owner())).Commit()
	cancel()
	if err != nil {
		return false, storeErr(ctx, "Condition.Wait", err)
	}
	if !t.Succeeded {
		c.spare.give(me) // not written
		return false, fmt.Errorf("%w: Condition.Wait: the lock changed hands", syncmgr.ErrNotOwner)
	}
	l.spareKey(string(held.Key)) // deleted here
	mgr.Blocking(ctx)
	wctx := ctx
	if !dl.IsZero() {
		var cf context.CancelFunc
		wctx, cf = context.WithDeadline(ctx, dl)
		defer cf()
	}
	werr := waitDelete(wctx, c.b.cli, me, t.Header.Revision, sl)
	notified := werr == nil
	gone := notified // me is; only this call gives the name back
	if !notified {
		// Leave the waiters, unless a Notify took us out just now.
		octx, cancel := c.b.op(context.WithoutCancel(ctx))
		r, err := c.b.cli.Txn(octx).If(clientv3.Compare(clientv3.CreateRevision(me), ">", 0)).Then(clientv3.OpDelete(me)).Commit()
		cancel()
		notified = err == nil && !r.Succeeded
		gone = err == nil
	}
	if gone {
		c.spare.give(me)
	}
	if ctx.Err() != nil && !notified {
		return false, ctx.Err()
	}
	// Take the lock back, as it was.
	_, err = l.acquire(ctx, true, time.Time{})
	if err != nil && !isAbandoned(err) {
		return false, err
	}
	if saved > 1 {
		if h, herr := l.heldBy(ctx, sl.id); herr == nil && h != nil {
			octx, cancel := c.b.op(ctx)
			_, _ = c.b.cli.Put(octx, string(h.Key), strconv.Itoa(saved), clientv3.WithLease(sl.id))
			cancel()
		}
	}
	return notified, err
}

// notify wakes the n oldest waiters (n < 0: all); the caller must hold the lock.
func (c *condObj) notify(ctx context.Context, n int64) error {
	l, err := c.lock(ctx)
	if err != nil {
		return err
	}
	sl, err := c.b.leases.of(ctx, mgr.CallerOf(ctx))
	if err != nil {
		return err
	}
	if h, err := l.heldBy(ctx, sl.id); err != nil {
		return err
	} else if h == nil {
		return fmt.Errorf("%w: Condition.Notify on an un-acquired lock", syncmgr.ErrNotOwner)
	}
	octx, cancel := c.b.op(ctx)
	defer cancel()
	if n < 0 {
		_, err := c.b.cli.Delete(octx, c.waiters(), clientv3.WithPrefix())
		return storeErr(ctx, "Condition.NotifyAll", err)
	}
	if n == 0 {
		return nil
	}
	r, err := c.b.cli.Get(octx, c.waiters(), clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend), clientv3.WithLimit(n))
	if err != nil {
		return storeErr(ctx, "Condition.Notify", err)
	}
	ops := make([]clientv3.Op, 0, len(r.Kvs))
	for _, kv := range r.Kvs {
		ops = append(ops, clientv3.OpDelete(string(kv.Key)))
	}
	if len(ops) > 0 {
		_, err = c.b.cli.Txn(octx).Then(ops...).Commit()
	}
	return storeErr(ctx, "Condition.Notify", err)
}

func (x *condObj) storeKey() string { return x.key }
