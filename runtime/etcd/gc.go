package etcd

import (
	"context"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Collecting the created objects of dead managers. A created (unnamed) object is
// reachable only through the manager that made it (its proxies and tokens name that
// manager's table), which deletes it from etcd when its last reference goes. If that
// manager dies, nothing can reach the object any more: its <object>/anchor key,
// attached to the dead manager's own lease, expires after the TTL, and every manager
// watching sees it go and deletes the object — a transaction conditional on the anchor
// being absent, so deleting twice is harmless and a live object is never touched. A
// manager that starts also sweeps the objects whose anchor is already gone (their
// manager died while none was watching).

const anchorSuffix = "/anchor"

func (b *Backend) createdPrefix() string { return b.prefix + "/o/c/" }

// collect sweeps once, then deletes objects as their anchors go, until Close.
func (b *Backend) collect() {
	for b.ctx.Err() == nil {
		rev, err := b.sweep()
		if err == nil {
			err = b.watchAnchors(rev)
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

// sweep deletes the created objects that have no anchor, and returns the revision it
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
		if k == obj+anchorSuffix {
			anchored[obj] = true
		}
	}
	for obj := range objects {
		if !anchored[obj] {
			b.deleteUnanchored(ctx, obj)
		}
	}
	return r.Header.Revision, nil
}

// deleteUnanchored deletes obj's keys if its anchor is (still) gone.
func (b *Backend) deleteUnanchored(ctx context.Context, obj string) {
	_, _ = b.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(obj+anchorSuffix), "=", 0)).
		Then(clientv3.OpDelete(obj+"/", clientv3.WithPrefix())).Commit()
}

// watchAnchors deletes each object whose anchor is deleted after rev.
func (b *Backend) watchAnchors(rev int64) error {
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	wch := b.cli.Watch(clientv3.WithRequireLeader(ctx), b.createdPrefix(), clientv3.WithPrefix(), clientv3.WithRev(rev+1), clientv3.WithFilterPut())
	for wr := range wch {
		if err := wr.Err(); err != nil {
			return err
		}
		for _, ev := range wr.Events {
			if k := string(ev.Kv.Key); strings.HasSuffix(k, anchorSuffix) {
				octx, ocancel := b.op(b.ctx)
				b.deleteUnanchored(octx, strings.TrimSuffix(k, anchorSuffix))
				ocancel()
			}
		}
	}
	return b.ctx.Err()
}
