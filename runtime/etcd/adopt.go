package etcd

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// What an adoption settles, and how the adopted session's old manager is kept out.
//
// A queue claim records the call that made it (mgr.CallID), and the client, when it
// resumes its session on another manager, lists the calls whose replies it did not take
// (Adopter.Adopt's untaken). So the adopting manager knows, for each claim on the
// session's lease, whether the client has the item: if its call is untaken, the client
// never got the item (the Get fails with mgr.ErrManagerRestarted) and the claim goes —
// the item is back in its place; if not, the client got it, and the claim is
// acknowledged — item and claim deleted. Either way the item is handed out once.
//
// That holds only if the old manager, should it still live (cut off from its client,
// not dead), does nothing more for the session: a Get it still runs must not claim an
// item the client will never see, a late acknowledgement must not delete an item the
// adoption gave back. The adoption deletes the old session's record (in the hand-over
// transaction, before it reads the claims), and every transaction a manager makes for a
// session's queue work, and every one that would grant it a lock or a permit or queue it
// for a lock, is conditional on the session's record (fence): after the hand-over the
// old manager's fail, and it answers its calls with ErrLeaseLost. (Releases are not
// fenced: giving back is always safe.)

// fence returns the comparisons that hold while the session is this manager's: its
// record is there. The manager's own session (no record) is always its own.
func (sl *sessionLease) fence() []clientv3.Cmp {
	if sl.record == "" {
		return nil
	}
	return []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(sl.record), ">", 0)}
}

// fenceElse is the Else branch of a transaction conditional on fence and on other
// comparisons: it lets adopted tell which failed.
func (sl *sessionLease) fenceElse() []clientv3.Op {
	if sl.record == "" {
		return nil
	}
	return []clientv3.Op{clientv3.OpGet(sl.record, clientv3.WithCountOnly())}
}

// adopted reports whether r, a transaction with fence and fenceElse, failed because the
// session is no longer this manager's: another adopted it, or its lease expired.
func (sl *sessionLease) adopted(r *clientv3.TxnResponse) bool {
	if sl.record == "" || r.Succeeded || len(r.Responses) == 0 {
		return false
	}
	rr := r.Responses[0].GetResponseRange()
	return rr != nil && rr.Count == 0
}

// errAdopted is the answer of a call for a session another manager has adopted: nobody
// will read it.
func errAdopted(op string) error {
	return fmt.Errorf("%w: %s: the session was adopted by another manager, or its lease expired", ErrLeaseLost, op)
}

// claimValue is what a claim key holds: the request ID of the Get that made it ("c0":
// none known).
func claimValue(callID uint64) string { return "c" + strconv.FormatUint(callID, 10) }

// settleAdopted settles what the adopted lease's session was in the middle of on its old
// manager, which nobody will finish. Its queue claims: acknowledged if the client took
// the Get's reply, given back otherwise (untaken: the calls whose replies it did not
// take; a claim that names no call is given back). Its waits are dropped — a lock
// waiter's key that is not the holder's (else it would become the holder with nobody to
// know it), a barrier's or a condition's waiter. What it holds (locks, permits) it
// keeps. An error means the claims may not all be settled: the caller refuses the
// adoption, and ends the lease.
func (b *Backend) settleAdopted(ctx context.Context, id clientv3.LeaseID, untaken []uint64) error {
	octx, cancel := b.op(ctx)
	defer cancel()
	r, err := b.cli.TimeToLive(octx, id, clientv3.WithAttachedKeys())
	if err != nil {
		return storeErr(ctx, "list an adopted session's keys", err)
	}
	var claims []string
	var ops []clientv3.Op
	for _, kb := range r.Keys {
		k := string(kb)
		switch {
		case strings.Contains(k, claimSegment):
			claims = append(claims, k)
		case strings.Contains(k, "/w/"):
			prefix := k[:strings.LastIndexByte(k, '/')+1]
			first, err := b.cli.Get(octx, prefix, clientv3.WithFirstCreate()...)
			if err == nil && len(first.Kvs) > 0 && string(first.Kvs[0].Key) != k {
				ops = append(ops, clientv3.OpDelete(k))
			}
		}
	}
	notTaken := make(map[string]bool, len(untaken))
	for _, id := range untaken {
		notTaken[claimValue(id)] = true
	}
	var settle []clientv3.Op
	for len(claims) > 0 {
		n := min(len(claims), maxTxnItems)
		gets := make([]clientv3.Op, n)
		for i, k := range claims[:n] {
			gets[i] = clientv3.OpGet(k)
		}
		vr, err := b.cli.Txn(octx).Then(gets...).Commit()
		if err != nil {
			return storeErr(ctx, "read an adopted session's queue claims", err)
		}
		for i, k := range claims[:n] {
			kvs := vr.Responses[i].GetResponseRange().Kvs
			if len(kvs) == 0 {
				continue // gone meanwhile: undone by its Get
			}
			settle = append(settle, clientv3.OpDelete(k))
			if v := string(kvs[0].Value); v != claimValue(0) && !notTaken[v] {
				// The client took the reply: acknowledged, the item deleted.
				i := strings.LastIndex(k, claimSegment)
				settle = append(settle, clientv3.OpDelete(k[:i]+"/i/"+k[i+len(claimSegment):]))
			}
		}
		claims = claims[n:]
	}
	// An acknowledgement's two deletes go in one transaction.
	for len(settle) > 0 {
		n := min(len(settle), maxTxnItems)
		if n < len(settle) && strings.Contains(string(settle[n].KeyBytes()), "/i/") {
			n--
		}
		if _, err := b.cli.Txn(octx).Then(settle[:n]...).Commit(); err != nil {
			return storeErr(ctx, "settle an adopted session's queue claims", err)
		}
		settle = settle[n:]
	}
	for len(ops) > 0 { // waits: best effort, they go with the session otherwise
		n := min(len(ops), maxTxnItems)
		_, _ = b.cli.Txn(octx).Then(ops[:n]...).Commit()
		ops = ops[n:]
	}
	return nil
}
