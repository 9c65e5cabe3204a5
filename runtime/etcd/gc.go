package etcd

import (
	"context"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Collecting created objects whose holders died. A created object lives while some
// manager holds a reference key on it (share.go), attached to that manager's lease. A
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
	r, err := b.cli.Get(ctx, b.createdPrefix(), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return 0, err
	}
	objects, anchored := map[string]bool{}, map[string]bool{}
	for _, kv := range r.Kvs {
		k := string(kv.Key)
		rest := strings.TrimPrefix(k, b.createdPrefix())
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			continue
		}
		obj := b.createdPrefix() + rest[:i]
		objects[obj] = true
		if strings.HasPrefix(k, obj+refDir) {
			anchored[obj] = true
		}
	}
	for obj := range objects {
		if !anchored[obj] {
			b.deleteUnreferenced(ctx, obj)
		}
	}
	return r.Header.Revision, nil
}

// watchAnchors deletes each object whose last reference key is deleted after rev.
func (b *Backend) watchAnchors(rev int64) error {
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	wch := b.cli.Watch(clientv3.WithRequireLeader(ctx), b.createdPrefix(), clientv3.WithPrefix(), clientv3.WithRev(rev+1), clientv3.WithFilterPut())
	for wr := range wch {
		if err := wr.Err(); err != nil {
			return err
		}
		for _, ev := range wr.Events {
			k := string(ev.Kv.Key)
			if i := strings.Index(k, refDir); i > 0 && strings.HasPrefix(k, b.createdPrefix()) {
				octx, ocancel := b.op(b.ctx)
				b.deleteUnreferenced(octx, k[:i])
				ocancel()
			}
		}
	}
	return b.ctx.Err()
}
