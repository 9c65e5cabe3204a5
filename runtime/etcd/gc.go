package etcd

import (
	"context"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Collecting created objects whose holders died. A created object lives while some
// manager holds a reference key on it (share.go; under <prefix>/refs/, apart from the
// objects, so this watch sees nothing of their operations), attached to that manager's lease. A
// manager that releases its last holder deletes its key and the object if no key is
// left; a manager that dies leaves keys that expire after the TTL, and every manager
// watching sees them go and deletes the object if none is left — a transaction
// conditional on there being no reference key, so deleting twice is harmless and a held
// object is never touched. A manager that starts also sweeps the objects without any
// reference key (their holders died while none was watching).

func (b *Backend) createdPrefix() string { return b.prefix + "/o/c/" }

// collect sweeps once, then deletes objects as their reference keys go, until Close.
func (b *Backend) collect() {
	for b.ctx.Err() == nil {
		if rev, err := b.sweep(); err == nil {
			_ = b.watchAnchors(rev) // returns when the watch fails, or at Close
		}
		if b.ctx.Err() != nil {
			return
		}
		// etcd unreachable, or the watch's revision compacted: sweep again a little later.
		select {
		case <-b.ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// sweep deletes the created objects that have no reference key, and returns the revision it
// looked at.
func (b *Backend) sweep() (int64, error) {
	ctx, cancel := b.op(b.ctx)
	defer cancel()
	// Objects and references as of one revision (one transaction): read apart, an object
	// created between the two reads would look unreferenced.
	r, err := b.cli.Txn(ctx).Then(
		clientv3.OpGet(b.createdPrefix(), clientv3.WithPrefix(), clientv3.WithKeysOnly()),
		clientv3.OpGet(b.refsPrefix(), clientv3.WithPrefix(), clientv3.WithKeysOnly())).Commit()
	if err != nil {
		return 0, err
	}
	objects, anchored := map[string]bool{}, map[string]bool{}
	for _, kv := range r.Responses[0].GetResponseRange().Kvs {
		if id, _, ok := strings.Cut(strings.TrimPrefix(string(kv.Key), b.createdPrefix()), "/"); ok {
			objects[id] = true
		}
	}
	for _, kv := range r.Responses[1].GetResponseRange().Kvs {
		if id, _, ok := strings.Cut(strings.TrimPrefix(string(kv.Key), b.refsPrefix()), "/"); ok {
			anchored[id] = true
		}
	}
	for id := range objects {
		if !anchored[id] {
			b.deleteUnreferenced(ctx, b.createdPrefix()+id)
		}
	}
	return r.Header.Revision, nil
}

// watchAnchors deletes each object whose last reference key is deleted after rev.
func (b *Backend) watchAnchors(rev int64) error {
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	wch := b.cli.Watch(clientv3.WithRequireLeader(ctx), b.refsPrefix(), clientv3.WithPrefix(), clientv3.WithRev(rev+1), clientv3.WithFilterPut())
	for wr := range wch {
		if err := wr.Err(); err != nil {
			return err
		}
		for _, ev := range wr.Events {
			if id, _, ok := strings.Cut(strings.TrimPrefix(string(ev.Kv.Key), b.refsPrefix()), "/"); ok && id != "" {
				octx, ocancel := b.op(b.ctx)
				b.deleteUnreferenced(octx, b.createdPrefix()+id)
				ocancel()
			}
		}
	}
	return b.ctx.Err()
}
