package etcd

import (
	"context"
	"strconv"
	"sync"

	"github.com/mgr-go/mgr/runtime/mgr"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Sessions and leases: each client session of this manager that holds something in
// etcd (a lock, a queue claim) has an etcd lease, granted at its first need, kept alive
// by this manager, and revoked when the session ends (clean close, kill -9 of the client,
// lost connection past the resume window) — which releases everything attached to it at
// once. If this manager dies, the keep-alives stop and etcd expires the lease after the
// TTL: the same release, later, done by etcd itself.

// leaseTable maps this manager's sessions to their leases.
type leaseTable struct {
	b  *Backend
	mu sync.Mutex
	m  map[uint64]*sessionLease // by mgr session ID (0: the manager itself)
}

// sessionLease is one session's lease and the work to do when the session ends.
type sessionLease struct {
	ready chan struct{} // closed once id/err are set
	id    clientv3.LeaseID
	err   error
	lost  chan struct{} // closed when the keep-alive stops for good (lease expired or revoked)

	record string // the session's record (Adopt); "" for the manager's own session

	mu    sync.Mutex
	atEnd []func(ctx context.Context) // run before the lease is revoked (queue acks)
}

func (t *leaseTable) init(b *Backend) {
	t.b = b
	t.m = map[uint64]*sessionLease{}
}

// of returns the lease of the session the call runs for, granting it at first need.
func (t *leaseTable) of(ctx context.Context, c mgr.Caller) (*sessionLease, error) {
	t.mu.Lock()
	sl := t.m[c.ID()]
	if sl != nil {
		select {
		case <-sl.lost: // expired while the session lived: grant a new one
			delete(t.m, c.ID())
			sl = nil
		default:
		}
	}
	if sl == nil {
		sl = &sessionLease{ready: make(chan struct{}), lost: make(chan struct{})}
		t.m[c.ID()] = sl
		t.mu.Unlock()
		t.grant(ctx, c, sl)
	} else {
		t.mu.Unlock()
	}
	select {
	case <-sl.ready:
	default:
		mgr.Blocking(ctx) // another call of the session is granting it: a wait
	}
	select {
	case <-sl.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if sl.err != nil {
		return nil, sl.err
	}
	return sl, nil
}

func (t *leaseTable) grant(ctx context.Context, c mgr.Caller, sl *sessionLease) {
	b := t.b
	defer close(sl.ready)
	octx, cancel := b.op(ctx)
	defer cancel()
	r, err := b.cli.Grant(octx, b.cfg.ttlSeconds())
	if err == nil {
		sl.id = r.ID
		// The record by which another manager can adopt the session (Adopt): attached
		// to the lease, it goes with it.
		if key := c.ResumeKey(); key != "" {
			sl.record = b.sessionKey(key)
			_, err = b.cli.Put(octx, sl.record, leaseText(r.ID), clientv3.WithLease(r.ID))
		}
	}
	if err != nil {
		sl.err = storeErr(ctx, "grant a session lease", err)
		close(sl.lost)
		t.mu.Lock()
		if t.m[c.ID()] == sl {
			delete(t.m, c.ID())
		}
		t.mu.Unlock()
		return
	}
	t.keep(ctx, c, sl)
}

func leaseText(id clientv3.LeaseID) string { return strconv.FormatInt(int64(id), 16) }

// sessionKey is where a session's lease is recorded, by the session's resume key.
func (b *Backend) sessionKey(resumeKey string) string { return b.prefix + "/sessions/" + resumeKey }

// keep keeps sl's lease alive until the session ends (then ends it) or the backend closes.
func (t *leaseTable) keep(ctx context.Context, c mgr.Caller, sl *sessionLease) {
	b := t.b
	kctx, kcancel := context.WithCancel(b.ctx)
	ka, err := b.cli.KeepAlive(kctx, sl.id)
	if err != nil {
		kcancel()
		sl.err = storeErr(ctx, "keep a session lease alive", err)
		close(sl.lost)
		return
	}
	go func() {
		for range ka { // the client library renews at a third of the TTL
		}
		close(sl.lost)
	}()
	done := c.Done()
	if done == nil { // the manager's own session: until the backend closes
		go func() {
			<-b.ctx.Done()
			kcancel()
		}()
		return
	}
	go func() {
		select {
		case <-done:
		case <-b.ctx.Done():
			kcancel()
			return
		}
		t.mu.Lock()
		if t.m[c.ID()] == sl {
			delete(t.m, c.ID())
		}
		t.mu.Unlock()
		sl.end(b)
		kcancel()
	}()
}

// Adopt implements mgr.Adopter: the session whose resume key is oldKey, of a manager
// that died (or that its client cannot reach), is resumed here as c. If its lease is
// still alive, c takes it over, with everything attached to it: its locks stay held,
// its queue claims are settled — acknowledged if the client took the Get's reply, given
// back if it did not (untaken; adopt.go). The hand-over is one transaction on the
// session's record, which the old manager checks before it revokes the lease (end), and
// which its queue transactions for the session are conditional on (fence), so the lease
// is either handed over or revoked, never both, and the old manager, should it live,
// does no more queue work for the session.
func (b *Backend) Adopt(ctx context.Context, oldKey string, untaken []uint64, c mgr.Caller) error {
	octx, cancel := b.op(ctx)
	defer cancel()
	old := b.sessionKey(oldKey)
	r, err := b.cli.Get(octx, old)
	if err != nil {
		return storeErr(ctx, "adopt a session", err)
	}
	if len(r.Kvs) == 0 {
		return nil // it held nothing in etcd, or its lease expired: nothing to take over
	}
	kv := r.Kvs[0]
	id := clientv3.LeaseID(kv.Lease)
	sl := &sessionLease{ready: make(chan struct{}), lost: make(chan struct{}), id: id}
	if key := c.ResumeKey(); key != "" {
		sl.record = b.sessionKey(key)
	}
	t, err := b.cli.Txn(octx).If(clientv3.Compare(clientv3.ModRevision(old), "=", kv.ModRevision)).
		Then(clientv3.OpDelete(old), clientv3.OpPut(sl.record, leaseText(id), clientv3.WithLease(id))).Commit()
	if err != nil {
		return storeErr(ctx, "adopt a session", err)
	}
	if !t.Succeeded {
		return nil // revoked, or adopted by another manager, meanwhile
	}
	b.leases.mu.Lock()
	b.leases.m[c.ID()] = sl
	b.leases.mu.Unlock()
	close(sl.ready)
	b.leases.keep(ctx, c, sl)
	// If the claims cannot be settled (etcd failing), the adoption is refused: the new
	// session ends, its lease is revoked, the claims go and their items are back — an
	// item the client took may then be delivered again.
	return b.settleAdopted(ctx, id, untaken)
}

// onEnd registers fn to run when the session ends while its manager lives, before its
// lease is revoked.
func (sl *sessionLease) onEnd(fn func(ctx context.Context)) {
	sl.mu.Lock()
	sl.atEnd = append(sl.atEnd, fn)
	sl.mu.Unlock()
}

// end runs the session's end work and revokes its lease: its keys go at once.
func (sl *sessionLease) end(b *Backend) {
	ctx, cancel := b.op(b.ctx)
	defer cancel()
	sl.mu.Lock()
	fns := sl.atEnd
	sl.atEnd = nil
	sl.mu.Unlock()
	for _, fn := range fns {
		fn(ctx)
	}
	// Revoke the lease — unless another manager adopted the session (it deleted the
	// record): the lease is that session's now. If etcd is unreachable, the lease
	// expires by itself after the TTL.
	if sl.record != "" {
		r, err := b.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(sl.record), ">", 0)).
			Then(clientv3.OpDelete(sl.record)).Commit()
		if err == nil && !r.Succeeded {
			return
		}
	}
	_, _ = b.cli.Revoke(ctx, sl.id)
}
