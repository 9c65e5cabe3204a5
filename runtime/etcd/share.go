package etcd

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Created objects shared across managers. A created object lives under
// <prefix>/o/c/<id>, <id> cluster-wide (newObject). Each manager that holds it in its
// table has one reference key <prefix>/refs/<id>/<lease>, attached to that manager's
// own lease: it is written when the manager creates the object or opens it for a token
// made on another manager, and deleted when the manager's last holder releases it.
// The object is deleted once no reference key is left — by the manager that deleted
// the last one, or, if that manager died, by whichever manager sees its key expire
// (gc.go) — always in a transaction conditional on there being none, so it is deleted
// once, never while held.
//
// The reference keys live apart from the objects' state so that the managers' watch on
// them (gc.go) sees reference keys only: under the objects, it saw every write of every
// object — each Lock.Release's two deletes came back to every manager on its etcd
// connection, between that call and the next, and every Put woke etcd's watch sender
// only to be filtered out there.
//
// A token of a created object (mgr.Sharer) carries the cluster's epoch and the
// object's ID; its hand-over is itself a reference key, <prefix>/refs/<id>/tok-<secret>,
// attached to a lease of its own that lasts the token's TTL, so the object lives until
// the token is attached or expires, whatever becomes of the minting manager. A manager
// takes it (Open) in one transaction that deletes it and writes the manager's own
// reference, conditional on its being there: a token attaches once, and never to a
// collected object. <object>/type holds the object's TypeID, for the opening manager.

const tokPrefix, typeSuffix = "tok-", "/type"

// refsPrefix is where every created object's reference keys live.
func (b *Backend) refsPrefix() string { return b.prefix + "/refs/" }

// refsOf is the prefix of the reference keys of the created object at key.
func (b *Backend) refsOf(key string) string {
	return b.refsPrefix() + strings.TrimPrefix(key, b.createdPrefix()) + "/"
}

// refTable counts, for each created object, this manager's values (table objects) on it
// and names its reference key. Its lock is held across the etcd writes of a reference,
// so that a release (last holder gone: delete the key) and an open (a new holder: write
// it) of the same object on this manager never interleave.
type refTable struct {
	mu sync.Mutex
	m  map[string]*localRef // by object key
}

type localRef struct {
	n   int    // values of this manager on the object
	key string // this manager's reference key
}

// refKey is this manager's reference key on the object at key.
func (b *Backend) refKey(ctx context.Context, key string) (string, clientv3.LeaseID, error) {
	ml, err := b.leases.of(ctx, mgr.Caller{})
	if err != nil {
		return "", 0, err
	}
	return b.refsOf(key) + strconv.FormatInt(int64(ml.id), 16), ml.id, nil
}

// held records one more value of this manager on the object at key, whose reference
// key ref the caller has written. Call with refs.mu held.
func (b *Backend) heldLocked(key, ref string) {
	if b.refs.m == nil {
		b.refs.m = map[string]*localRef{}
	}
	r := b.refs.m[key]
	if r == nil {
		r = &localRef{}
		b.refs.m[key] = r
	}
	r.n++
	r.key = ref
}

// releaseKeys drops one value of this manager on the created object at key: the last
// one deletes the manager's reference key, and the object with it if no other manager
// holds it.
func (b *Backend) releaseKeys(key string) {
	b.refs.mu.Lock()
	defer b.refs.mu.Unlock()
	r := b.refs.m[key]
	if r == nil {
		return
	}
	if r.n--; r.n > 0 {
		return
	}
	delete(b.refs.m, key)
	ctx, cancel := b.op(b.ctx)
	defer cancel()
	if _, err := b.cli.Delete(ctx, r.key); err != nil {
		return // the key goes with the manager's lease; then another manager collects
	}
	b.deleteUnreferenced(ctx, key)
}

// deleteUnreferenced deletes the object at obj if no manager holds a reference to it.
func (b *Backend) deleteUnreferenced(ctx context.Context, obj string) {
	_, _ = b.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(b.refsOf(obj)), "=", 0).WithPrefix()).
		Then(clientv3.OpDelete(obj+"/", clientv3.WithPrefix())).Commit()
}

// ClusterEpoch implements mgr.Sharer: a hash of the etcd cluster's ID and the prefix,
// the same for every manager of the cluster.
func (b *Backend) ClusterEpoch() uint64 { return b.epoch }

func clusterEpoch(clusterID uint64, prefix string) uint64 {
	h := sha256.New()
	var x [8]byte
	binary.LittleEndian.PutUint64(x[:], clusterID)
	h.Write(x[:])
	h.Write([]byte(prefix))
	return binary.LittleEndian.Uint64(h.Sum(nil)) | 1 // never 0 ("not known")
}

// storeKeyer is an object kept in etcd: key is where.
type storeKeyer interface{ storeKey() string }

// Share implements mgr.Sharer: records the hand-over of a created object.
func (b *Backend) Share(ctx context.Context, value any, secret [16]byte, ttl time.Duration) (uint64, bool, error) {
	sk, ok := value.(storeKeyer)
	if !ok {
		return 0, false, nil
	}
	key := sk.storeKey()
	idText, ok := strings.CutPrefix(key, b.createdPrefix())
	if !ok {
		return 0, false, nil // a named object: shared by name
	}
	id, err := strconv.ParseUint(idText, 10, 64)
	if err != nil {
		return 0, false, nil
	}
	octx, cancel := b.op(ctx)
	defer cancel()
	l, err := b.cli.Grant(octx, max(2, int64((ttl+time.Second-1)/time.Second)))
	if err != nil {
		return 0, false, storeErr(ctx, "share", err)
	}
	// Only while the object is there: a token never resurrects a collected object.
	r, err := b.cli.Txn(octx).If(clientv3.Compare(clientv3.CreateRevision(key+typeSuffix), ">", 0)).
		Then(clientv3.OpPut(b.refsOf(key)+tokPrefix+hex.EncodeToString(secret[:]), "", clientv3.WithLease(l.ID))).Commit()
	if err != nil {
		return 0, false, storeErr(ctx, "share", err)
	}
	if !r.Succeeded {
		return 0, false, fmt.Errorf("%w: object #%d is gone from etcd", mgr.ErrUnknownObject, id)
	}
	return id, true, nil
}

// Open implements mgr.Sharer: takes the hand-over of a token another manager of the
// cluster made, and holds the object for this manager.
func (b *Backend) Open(ctx context.Context, id uint64, secret [16]byte) (string, any, error) {
	key := b.createdPrefix() + strconv.FormatUint(id, 10)
	tok := b.refsOf(key) + tokPrefix + hex.EncodeToString(secret[:])
	b.refs.mu.Lock()
	defer b.refs.mu.Unlock()
	ref, lease, err := b.refKey(ctx, key)
	if err != nil {
		return "", nil, err
	}
	octx, cancel := b.op(ctx)
	defer cancel()
	r, err := b.cli.Txn(octx).
		If(clientv3.Compare(clientv3.CreateRevision(tok), ">", 0)).
		Then(clientv3.OpDelete(tok), clientv3.OpPut(ref, "", clientv3.WithLease(lease)), clientv3.OpGet(key+typeSuffix)).
		Commit()
	if err != nil {
		return "", nil, storeErr(ctx, "attach", err)
	}
	if !r.Succeeded {
		return "", nil, fmt.Errorf("%w: the token of object #%d is unknown to the cluster (%s), already attached, or expired", mgr.ErrBadToken, id, b.prefix)
	}
	kvs := r.Responses[2].GetResponseRange().Kvs
	if len(kvs) == 0 {
		return "", nil, fmt.Errorf("%w: object #%d has no type key", mgr.ErrBadToken, id)
	}
	typeID := string(kvs[0].Value)
	k := b.kind(typeID)
	if k == nil {
		// The reference written stays until this manager's lease ends: harmless.
		return "", nil, fmt.Errorf("%w: %q is not kept in etcd by this manager", mgr.ErrUnknownType, typeID)
	}
	b.heldLocked(key, ref)
	return typeID, k.open(key), nil
}
