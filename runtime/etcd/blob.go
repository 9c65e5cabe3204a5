package etcd

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Value-like types — Dict, List, Set, Value, Array, Namespace — keep their whole state
// in one etcd key, written as the type's own snapshot (Dict.Items, List.Copy, ...), and
// run the registered syncmgr methods themselves on a copy restored from it: the
// semantics are syncmgr's exactly, for every instantiation registered in the manager.
// A change is an optimistic transaction — "put the new state if the key is still at the
// revision I read, else give me the current one" — retried on a lost race, so every
// method is atomic and linearizable across all managers (the Value CompareAndSwap test
// checks this with porcupine). The cost: one round trip per call when this manager's
// copy is current, two when another manager wrote meanwhile, and the object's state is
// bounded by etcd's value limit (1.5 MiB by default). One difference from the in-memory
// types: a value a Pop took out whose reply then cannot reach its caller (larger than
// the client takes, say) stays out — the in-memory Dict puts it back (mgr.Undo); here
// that would be a second transaction, not done yet.

// blobType is how one value-like TypeID is snapshotted and restored.
type blobType struct {
	base     *mgr.TypeDesc
	snap     int                            // index of the method whose result is the snapshot
	restore  func(snap []byte) (any, error) // a fresh object holding snap
	fresh    func(args []byte) (any, error) // a new object from constructor arguments
	readOnly map[string]bool                // methods that never change the state
}

func methodIndex(d *mgr.TypeDesc, name string) int { return d.MethodIndex(name) }

func baseName(typeID string) string {
	if i := strings.IndexByte(typeID, '['); i >= 0 {
		return typeID[:i]
	}
	return typeID
}

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// blobTypeOf returns how base is kept as one etcd value, or nil if it is not a
// value-like syncmgr type.
func blobTypeOf(base *mgr.TypeDesc) *blobType {
	newFrom := func(args []byte) (any, error) { return base.New(context.Background(), mgr.NewDecoder(args)) }
	bt := &blobType{base: base, fresh: newFrom}
	switch baseName(base.TypeID) {
	case "syncmgr.Dict":
		bt.snap = methodIndex(base, "Items")
		upd := methodIndex(base, "UpdateItems")
		bt.restore = func(snap []byte) (any, error) {
			obj, err := newFrom(nil)
			if err != nil {
				return nil, err
			}
			return obj, base.Methods[upd].Call(context.Background(), obj, mgr.NewDecoder(snap), mgr.NewEncoder(nil))
		}
		bt.readOnly = set("Get", "GetItem", "Len", "Contains", "Keys", "Values", "Items", "Range", "Copy")
	case "syncmgr.List":
		bt.snap, bt.restore = methodIndex(base, "Copy"), newFrom
		bt.readOnly = set("Len", "Get", "Index", "Count", "Contains", "Slice", "Range", "Copy")
	case "syncmgr.Set":
		bt.snap, bt.restore = methodIndex(base, "Items"), newFrom
		bt.readOnly = set("Contains", "Len", "Items", "Union", "Intersection", "Difference", "SymmetricDifference", "IsSubset", "IsSuperset", "IsDisjoint")
	case "syncmgr.Value":
		bt.snap, bt.restore = methodIndex(base, "Get"), newFrom
		bt.readOnly = set("Get")
	case "syncmgr.Array":
		bt.snap, bt.restore = methodIndex(base, "Items"), newFrom
		bt.readOnly = set("Len", "Get", "Slice", "Items")
	case "syncmgr.Namespace":
		bt.snap = methodIndex(base, "All")
		bt.restore = func(snap []byte) (any, error) {
			var m map[string]any
			d := mgr.NewDecoder(snap)
			d.Value(&m)
			if err := d.Done(); err != nil {
				return nil, err
			}
			n := syncmgr.NewNamespace()
			for k, v := range m {
				n.Set(k, v)
			}
			return n, nil
		}
		bt.readOnly = set("Get", "Has", "All")
	default:
		return nil
	}
	if bt.snap < 0 {
		return nil
	}
	return bt
}

// snapshot encodes obj's state.
func (t *blobType) snapshot(obj any) ([]byte, error) {
	enc := mgr.NewEncoder(nil)
	if err := t.base.Methods[t.snap].Call(context.Background(), obj, mgr.NewDecoder(nil), enc); err != nil {
		return nil, err
	}
	return enc.Bytes(), enc.Err()
}

func (t *blobType) kind(b *Backend) *kind {
	impl := map[string]func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error{}
	for i, m := range t.base.Methods {
		i, ro := i, t.readOnly[m.Name]
		impl[m.Name] = func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			return obj.(*blobObj).call(ctx, i, ro, args, res)
		}
	}
	return &kind{
		desc: &mgr.TypeDesc{TypeID: t.base.TypeID, Methods: methodsLike(t.base, impl)},
		open: func(key string) any { return &blobObj{b: b, t: t, key: key} },
		init: func(key string, args []byte) ([]clientv3.Op, error) {
			obj, err := t.fresh(args)
			if err != nil {
				return nil, err
			}
			snap, err := t.snapshot(obj)
			if err != nil {
				return nil, err
			}
			return []clientv3.Op{clientv3.OpPut(key+"/state", string(snap))}, nil
		},
	}
}

// blobObj is a manager's handle on one value-like object in etcd, with a copy of the
// state at the last revision it saw.
type blobObj struct {
	b   *Backend
	t   *blobType
	key string

	mu   sync.Mutex // one call of this manager at a time: they would only race each other
	rev  int64      // mod revision of the state key last seen; 0: none yet
	val  []byte     // the state at rev
	live any        // val restored; nil until needed, and after a failed attempt
}

// Released implements mgr.Releaser: a created object no session holds any more goes
// from etcd (named objects are never released).
func (o *blobObj) Released() {
	if strings.Contains(o.key, "/o/c/") {
		o.b.releaseKeys(o.key)
	}
}

func (o *blobObj) stateKey() string { return o.key + "/state" }

// take records the state read from kvs (the state key, or nothing).
func (o *blobObj) take(kvs []*mvccpb.KeyValue) {
	if len(kvs) == 0 {
		o.rev, o.val, o.live = 0, nil, nil
		return
	}
	if kvs[0].ModRevision != o.rev {
		o.rev, o.val, o.live = kvs[0].ModRevision, kvs[0].Value, nil
	}
}

func (o *blobObj) restored() (any, error) {
	if o.live == nil {
		if o.rev == 0 {
			return nil, fmt.Errorf("%w: the state of %s at %s is gone from etcd", mgr.ErrUnknownObject, o.t.base.TypeID, o.key)
		}
		v, err := o.t.restore(o.val)
		if err != nil {
			return nil, fmt.Errorf("etcd: restore %s: %w", o.key, err)
		}
		o.live = v
	}
	return o.live, nil
}

// call runs method i on the current state: a read on the state as etcd has it now, a
// change as a transaction conditional on the revision the change was computed from.
func (o *blobObj) call(ctx context.Context, i int, readOnly bool, args *mgr.Decoder, res *mgr.Encoder) error {
	raw := bytes.Clone(args.Rest())
	m := &o.t.base.Methods[i]
	if !o.mu.TryLock() {
		mgr.Blocking(ctx) // another call has the object, for a round trip or more: a wait
		o.mu.Lock()
	}
	defer o.mu.Unlock()
	octx, cancel := o.b.op(ctx)
	defer cancel()
	if readOnly || o.rev == 0 {
		r, err := o.b.cli.Get(octx, o.stateKey())
		if err != nil {
			return storeErr(ctx, m.Name, err)
		}
		o.take(r.Kvs)
	}
	for {
		obj, err := o.restored()
		if err != nil {
			return err
		}
		enc := mgr.NewEncoder(nil)
		// On a copy whose outcome is written below: an Undo the method registers would
		// change only the copy (WithoutUndo).
		if err := m.Call(mgr.WithoutUndo(ctx), obj, mgr.NewDecoder(raw), enc); err != nil {
			return err // the methods fail before they change anything
		}
		if enc.Err() != nil {
			return enc.Err()
		}
		if readOnly {
			res.Raw(enc.Bytes())
			return nil
		}
		snap, err := o.t.snapshot(obj)
		if err != nil {
			o.live = nil
			return err
		}
		cmp := clientv3.Compare(clientv3.ModRevision(o.stateKey()), "=", o.rev)
		txn := o.b.cli.Txn(octx).If(cmp)
		changed := !bytes.Equal(snap, o.val)
		if changed {
			txn = txn.Then(clientv3.OpPut(o.stateKey(), string(snap)))
		}
		txn = txn.Else(clientv3.OpGet(o.stateKey()))
		// Unchanged (a failed CompareAndSwap, a Pop of nothing): the outcome holds only
		// if the state is still the one it was computed on, so it is checked all the same.
		r, err := txn.Commit()
		if err != nil {
			o.live = nil // whether the write landed is unknown: read again next time
			o.rev = 0
			return storeErr(ctx, m.Name, err)
		}
		if r.Succeeded {
			if changed {
				o.rev, o.val = r.Header.Revision, snap
			}
			res.Raw(enc.Bytes())
			return nil
		}
		o.live = nil
		o.take(r.Responses[0].GetResponseRange().Kvs)
	}
}

func (x *blobObj) storeKey() string { return x.key }
