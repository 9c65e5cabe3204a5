package etcd

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Queue in etcd: items under <q>/i/<20-digit number>, numbered from <q>/meta ("tail
// unfinished maxsize"), which every Put and TaskDone changes by compare-and-swap, in one
// transaction with the items it adds. A Get does not delete its item — the recipe Queue
// of etcd does, and loses the item when the getter dies with it — it claims it: a key
// <q>/claim/<number>, attached to the getting session's lease, that names the Get's call
// (mgr.CallID). Claimed items are not handed out again. The claim is acknowledged (item
// and claim deleted, in one transaction) once the getter has the item: at the session's
// next Get or TaskDone, or when its session ends on a live manager.
//
// Exactly once when a manager dies. A client with Options.Failover resumes its session
// on another manager, which adopts it (adopt.go): the client says which calls it did not
// get the replies of, so for each claim of the session the adopting manager knows
// whether the item reached the client — it acknowledges the claim if so, and gives the
// item back (in its place, for the next getter) if not; the Get whose reply was lost
// fails with mgr.ErrManagerRestarted and gave nothing. The old manager, should it live
// on, is fenced off the session's queue work. So an item is handed out exactly once.
//
// What is not exact:
//   - A session that is not adopted in time: its client has no Failover, or reached no
//     manager within the TTL, or the managers were too loaded to renew the lease
//     (ErrLeaseLost). On a dead manager its claims expire with its lease, and the items
//     it had got but not acknowledged come back (at-least-once). On a live manager that
//     ends it (its resume window passed), the items whose replies were sent count as
//     delivered and are acknowledged, even if the client never read them.
//   - A client that dies holding an item has got it: the item is acknowledged when its
//     session ends (or by the adoption) and nobody else gets it. Work the consumer had
//     not finished is the consumer's to recover (at-most-once processing).
//   - The client's own writes that were in flight at the failover may or may not have
//     landed (mgr.ErrManagerRestarted): the cluster example shows how to tell.

// RegisterQueue makes the manager keep Queue[T] (syncmgr.QueueTypeID[T]) in etcd. The
// instantiations syncmgr registers itself are registered here too; call it, from an
// init function of the manager's program, for any other (with syncmgr.RegisterQueue[T]).
func RegisterQueue[T any]() {
	registerKind(syncmgr.QueueTypeID[T](), queueKind[T])
}

func init() {
	RegisterQueue[int]()
	RegisterQueue[string]()
	RegisterQueue[any]()
	RegisterQueue[[]byte]()
}

type qcall = func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error

func queueKind[T any](b *Backend) *kind {
	base := mgr.LookupType(syncmgr.QueueTypeID[T]())
	if base == nil {
		return nil
	}
	get := func(block, timed bool) qcall {
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
			v, err := obj.(*queueObj).get(ctx, block, dl)
			if err != nil {
				return err
			}
			var x T
			d := mgr.NewDecoder(v)
			d.Value(&x)
			if err := d.Done(); err != nil {
				return fmt.Errorf("etcd: queue item: %w", err)
			}
			res.Value(&x)
			return nil
		}
	}
	put := func(block, timed bool) qcall {
		return func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			var x T
			args.Value(&x)
			var dl time.Time
			if timed {
				if t := args.Duration(); t >= 0 {
					dl = time.Now().Add(t)
				}
			}
			if err := args.Done(); err != nil {
				return err
			}
			enc := mgr.NewEncoder(nil)
			enc.Value(&x)
			if err := enc.Err(); err != nil {
				return err
			}
			return obj.(*queueObj).put(ctx, [][]byte{enc.Bytes()}, block, dl)
		}
	}
	impl := map[string]qcall{
		"Get":        get(true, false),
		"GetTimeout": get(true, true),
		"GetNowait":  get(false, false),
		"Put":        put(true, false),
		"PutTimeout": put(true, true),
		"PutNowait":  put(false, false),
		"PutMany": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			var xs []T
			args.Value(&xs)
			if err := args.Done(); err != nil {
				return err
			}
			items := make([][]byte, len(xs))
			for i := range xs {
				enc := mgr.NewEncoder(nil)
				enc.Value(&xs[i])
				if err := enc.Err(); err != nil {
					return err
				}
				items[i] = enc.Bytes()
			}
			return obj.(*queueObj).put(ctx, items, true, time.Time{})
		},
		"Qsize": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			n, _, err := obj.(*queueObj).size(ctx)
			res.Int64(int64(n))
			return err
		},
		"Empty": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			n, _, err := obj.(*queueObj).size(ctx)
			res.Bool(n == 0)
			return err
		},
		"Full": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			n, m, err := obj.(*queueObj).size(ctx)
			res.Bool(m.max > 0 && n >= m.max)
			return err
		},
		"Maxsize": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			_, m, err := obj.(*queueObj).size(ctx)
			res.Int64(int64(m.max))
			return err
		},
		"TaskDone": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			return obj.(*queueObj).taskDone(ctx)
		},
		"Join": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			return obj.(*queueObj).join(ctx)
		},
	}
	// Qsize and Maxsize return int: encoded as the generated code does (Int64 is the
	// varint of an int).
	return &kind{
		desc: &mgr.TypeDesc{TypeID: base.TypeID, Methods: methodsLike(base, impl)},
		open: func(key string) any { return &queueObj{b: b, key: key, sessions: map[uint64]*queueSession{}} },
		init: func(key string, args []byte) ([]clientv3.Op, error) {
			d := mgr.NewDecoder(args)
			max := 0
			if len(args) > 0 {
				max = d.Int()
			}
			if err := d.Done(); err != nil {
				return nil, err
			}
			if max < 0 {
				max = 0
			}
			return []clientv3.Op{clientv3.OpPut(key+"/meta", meta{max: max}.String())}, nil
		},
	}
}

// claimSegment marks a queue's claim keys: Adopt settles the claims of a session it
// takes over (adopt.go).
const claimSegment = "/claim/"

// meta is a queue's counters.
type meta struct{ tail, unfinished, max int }

func (m meta) String() string { return fmt.Sprintf("%d %d %d", m.tail, m.unfinished, m.max) }

func parseMeta(v []byte) (meta, error) {
	var m meta
	if len(v) == 0 {
		return m, nil
	}
	_, err := fmt.Sscanf(string(v), "%d %d %d", &m.tail, &m.unfinished, &m.max)
	return m, err
}

// queueObj is a manager's handle on one queue in etcd.
type queueObj struct {
	b   *Backend
	key string

	mu       sync.Mutex
	sessions map[uint64]*queueSession // the claims this manager's sessions got
	meta     meta                     // the counters this manager wrote last
	metaRev  int64                    // the revision that wrote them; 0: unknown
	claims   int64                    // claims seen at the last Get, to size the next read
	head     string                   // no item numbered below it exists (readFrom); "": none known
}

// queueSession is what one session got from the queue and has not acknowledged.
type queueSession struct {
	delivered []string // numbers of items handed out by calls that have returned
}

func (q *queueObj) metaKey() string          { return q.key + "/meta" }
func (q *queueObj) itemKey(n string) string  { return q.key + "/i/" + n }
func (q *queueObj) claimKey(n string) string { return q.key + claimSegment + n }
func itemNumber(n int) string                { return fmt.Sprintf("%020d", n) }
func lastPart(key []byte) string             { s := string(key); return s[strings.LastIndexByte(s, '/')+1:] }

// readFrom moves head up to the first item read. Reads start at head, not at the start
// of <q>/i/ and <q>/claim/: etcd keeps an index entry for every key ever written,
// deleted or not, until its history is compacted, and a read of a range walks them all —
// every item ever acknowledged — before the first live one (Queue.Get had slowed 1.9×
// after 4,000 items). No item below the first one read appears later: Put numbers new
// items from the tail up; and a claim goes with its item. Called with q.mu held.
// (Item numbers are fixed-width: as strings they sort as numbers.)
func (q *queueObj) readFrom(items []*mvccpb.KeyValue) {
	if len(items) > 0 {
		q.head = max(q.head, lastPart(items[0].Key))
	}
}

// Released implements mgr.Releaser for created queues.
func (q *queueObj) Released() { q.b.releaseKeys(q.key) }

// size returns the number of unclaimed items and the counters.
func (q *queueObj) size(ctx context.Context) (int, meta, error) {
	octx, cancel := q.b.op(ctx)
	defer cancel()
	r, err := q.b.cli.Txn(octx).Then(
		clientv3.OpGet(q.key+"/i/", clientv3.WithPrefix(), clientv3.WithCountOnly()),
		clientv3.OpGet(q.key+claimSegment, clientv3.WithPrefix(), clientv3.WithCountOnly()),
		clientv3.OpGet(q.metaKey())).Commit()
	if err != nil {
		return 0, meta{}, storeErr(ctx, "Queue size", err)
	}
	m, err := parseMeta(firstValue(r, 2))
	n := r.Responses[0].GetResponseRange().Count - r.Responses[1].GetResponseRange().Count
	return int(max(n, 0)), m, err
}

// maxTxnItems bounds the items one transaction adds: etcd refuses transactions of more
// than 128 operations by default (--max-txn-ops).
const maxTxnItems = 100

// put appends items, in one transaction per maxTxnItems, waiting for room in a bounded
// queue (block) until dl (zero: no limit). On an error the error says how many items
// were queued, as syncmgr's PutMany does.
func (q *queueObj) put(ctx context.Context, items [][]byte, block bool, dl time.Time) error {
	for i := 0; i < len(items); i += maxTxnItems {
		if err := q.putTxn(ctx, items[i:min(i+maxTxnItems, len(items))], block, dl); err != nil {
			if len(items) > 1 {
				return fmt.Errorf("PutMany: %d of %d items queued: %w", i, len(items), err)
			}
			return err
		}
	}
	return nil
}

func (q *queueObj) putTxn(ctx context.Context, items [][]byte, block bool, dl time.Time) error {
	wctx := ctx
	if !dl.IsZero() {
		var c context.CancelFunc
		wctx, c = context.WithDeadline(ctx, dl)
		defer c()
	}
	if q.putUnbounded(ctx, items) {
		return nil
	}
	for {
		octx, cancel := q.b.op(ctx)
		r, err := q.b.cli.Txn(octx).Then(
			clientv3.OpGet(q.metaKey()),
			clientv3.OpGet(q.key+"/i/", clientv3.WithPrefix(), clientv3.WithCountOnly()),
			clientv3.OpGet(q.key+claimSegment, clientv3.WithPrefix(), clientv3.WithCountOnly())).Commit()
		cancel()
		if err != nil {
			return q.waitErr(ctx, wctx, "Queue.Put", err, syncmgr.ErrFull)
		}
		mkv := r.Responses[0].GetResponseRange().Kvs
		if len(mkv) == 0 {
			return fmt.Errorf("%w: the queue at %s is gone from etcd", mgr.ErrUnknownObject, q.key)
		}
		m, err := parseMeta(mkv[0].Value)
		if err != nil {
			return err
		}
		n := int(r.Responses[1].GetResponseRange().Count - r.Responses[2].GetResponseRange().Count)
		if m.max > 0 && n+len(items) > m.max && n > 0 {
			if !block {
				return fmt.Errorf("%w: Queue.PutNowait", syncmgr.ErrFull)
			}
			mgr.Blocking(ctx)
			if err := q.waitChange(wctx, r.Header.Revision); err != nil {
				return q.waitErr(ctx, wctx, "Queue.Put", err, syncmgr.ErrFull)
			}
			continue
		}
		ops := q.appendOps(&m, items)
		octx, cancel = q.b.op(ctx)
		t, err := q.b.cli.Txn(octx).If(clientv3.Compare(clientv3.ModRevision(q.metaKey()), "=", mkv[0].ModRevision)).Then(ops...).Commit()
		cancel()
		if err != nil {
			return storeErr(ctx, "Queue.Put", err)
		}
		if t.Succeeded {
			q.cacheMeta(m, t.Header.Revision)
			return nil
		}
	}
}

// appendOps returns the writes that append items at the tail m holds and store the
// advanced counters, advancing m to match.
func (q *queueObj) appendOps(m *meta, items [][]byte) []clientv3.Op {
	ops := make([]clientv3.Op, 0, len(items)+1)
	for _, it := range items {
		ops = append(ops, clientv3.OpPut(q.itemKey(itemNumber(m.tail)), string(it)))
		m.tail++
		m.unfinished++
	}
	return append(ops, clientv3.OpPut(q.metaKey(), m.String()))
}

// cacheMeta remembers the counters as of the revision that wrote them.
func (q *queueObj) cacheMeta(m meta, rev int64) {
	q.mu.Lock()
	q.meta, q.metaRev = m, rev
	q.mu.Unlock()
}

// putUnbounded appends items to a queue known to be unbounded in one round trip, if the
// counters this manager wrote last are still current; it reports whether it did (if not,
// the caller reads them and goes the long way).
func (q *queueObj) putUnbounded(ctx context.Context, items [][]byte) bool {
	q.mu.Lock()
	m, rev := q.meta, q.metaRev
	q.mu.Unlock()
	if rev == 0 || m.max > 0 {
		return false
	}
	ops := q.appendOps(&m, items)
	octx, cancel := q.b.op(ctx)
	defer cancel()
	t, err := q.b.cli.Txn(octx).If(clientv3.Compare(clientv3.ModRevision(q.metaKey()), "=", rev)).Then(ops...).Commit()
	if err != nil || !t.Succeeded {
		q.cacheMeta(meta{}, 0)
		return false
	}
	q.cacheMeta(m, t.Header.Revision)
	return true
}

// waitErr turns the end of a wait into the call's error: the call's own deadline (a
// ...Timeout variant) is the type's "empty" or "full".
func (q *queueObj) waitErr(ctx, wctx context.Context, op string, err, timedOut error) error {
	if ctx.Err() == nil && wctx.Err() != nil {
		return fmt.Errorf("%w: %s", timedOut, op)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return storeErr(ctx, op, err)
}

// waitChange waits, on a watch, for any change to the queue after revision rev.
func (q *queueObj) waitChange(ctx context.Context, rev int64) error {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := q.b.cli.Watch(clientv3.WithRequireLeader(cctx), q.key+"/", clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	for {
		select {
		case wr, ok := <-wch:
			if !ok {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("%w: watch of %s ended", ErrUnavailable, q.key)
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
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// session returns the queue's record of the caller's session, registering the
// acknowledgement of its claims for when the session ends.
func (q *queueObj) session(c mgr.Caller, sl *sessionLease) *queueSession {
	q.mu.Lock()
	defer q.mu.Unlock()
	qs := q.sessions[c.ID()]
	if qs == nil {
		qs = &queueSession{}
		q.sessions[c.ID()] = qs
		sl.onEnd(func(ctx context.Context) {
			q.mu.Lock()
			delete(q.sessions, c.ID())
			acks := qs.delivered
			qs.delivered = nil
			q.mu.Unlock()
			if len(acks) > 0 { // unless another manager adopted the session: it settled them
				_, _ = q.b.cli.Txn(ctx).If(sl.fence()...).Then(q.ackOps(acks)...).Commit()
			}
		})
	}
	return qs
}

// takeAcks returns the session's delivered claims, to acknowledge.
func (q *queueObj) takeAcks(qs *queueSession) []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	a := qs.delivered
	qs.delivered = nil
	return a
}

func (q *queueObj) giveBackAcks(qs *queueSession, a []string) {
	q.mu.Lock()
	qs.delivered = append(a, qs.delivered...)
	q.mu.Unlock()
}

// ackOps delete acknowledged items with their claims. Unconditionally: only the session
// that claimed an item acknowledges it, and if its lease expired meanwhile and another
// getter claimed the item again, that getter has it already.
func (q *queueObj) ackOps(nums []string) []clientv3.Op {
	ops := make([]clientv3.Op, 0, 2*len(nums))
	for _, n := range nums {
		ops = append(ops, clientv3.OpDelete(q.itemKey(n)), clientv3.OpDelete(q.claimKey(n)))
	}
	return ops
}

// get claims the oldest unclaimed item for the caller's session and returns it, waiting
// for one (block) until dl (zero: no limit).
func (q *queueObj) get(ctx context.Context, block bool, dl time.Time) ([]byte, error) {
	c := mgr.CallerOf(ctx)
	sl, err := q.b.leases.of(ctx, c)
	if err != nil {
		return nil, err
	}
	qs := q.session(c, sl)
	wctx := ctx
	if !dl.IsZero() {
		var cf context.CancelFunc
		wctx, cf = context.WithDeadline(ctx, dl)
		defer cf()
	}
	callID := mgr.CallID(ctx)
	acks := q.takeAcks(qs)
	for {
		// Claims and the oldest items, at one revision, in one round trip: enough items
		// to find an unclaimed one if the claims are about what they were last time.
		q.mu.Lock()
		limit := q.claims + int64(len(acks)) + 8
		from := max(q.head, itemNumber(0))
		q.mu.Unlock()
		octx, cancel := q.b.op(ctx)
		tr, err := q.b.cli.Txn(octx).Then(
			clientv3.OpGet(q.claimKey(from), clientv3.WithRange(clientv3.GetPrefixRangeEnd(q.key+claimSegment)), clientv3.WithKeysOnly()),
			clientv3.OpGet(q.itemKey(from), clientv3.WithRange(clientv3.GetPrefixRangeEnd(q.key+"/i/")), clientv3.WithLimit(limit))).Commit()
		cancel()
		if err != nil {
			q.giveBackAcks(qs, acks)
			return nil, q.waitErr(ctx, wctx, "Queue.Get", err, syncmgr.ErrEmpty)
		}
		r, items := tr.Responses[0].GetResponseRange(), tr.Responses[1].GetResponseRange()
		q.mu.Lock()
		q.claims = r.Count
		q.readFrom(items.Kvs)
		q.mu.Unlock()
		claimed := make(map[string]bool, len(r.Kvs)+len(acks))
		for _, kv := range r.Kvs {
			claimed[lastPart(kv.Key)] = true
		}
		for _, a := range acks {
			claimed[a] = true
		}
		var pick []byte
		var pickRev int64
		var num string
		for _, kv := range items.Kvs {
			if n := lastPart(kv.Key); !claimed[n] {
				pick, pickRev, num = kv.Value, kv.CreateRevision, n
				break
			}
		}
		if num == "" && items.Count > int64(len(items.Kvs)) {
			q.mu.Lock()
			q.claims = items.Count // read them all next time
			q.mu.Unlock()
			continue
		}
		if num == "" {
			if len(acks) > 0 { // acknowledge now rather than hold them over a wait
				q.b.hook(ctx, "ack")
				octx, cancel := q.b.op(ctx)
				t, err := q.b.cli.Txn(octx).If(sl.fence()...).Then(q.ackOps(acks)...).Else(sl.fenceElse()...).Commit()
				cancel()
				if err != nil {
					q.giveBackAcks(qs, acks)
					return nil, storeErr(ctx, "Queue.Get", err)
				}
				if !t.Succeeded {
					return nil, errAdopted("Queue.Get")
				}
				acks = nil
			}
			if !block {
				return nil, fmt.Errorf("%w: Queue.GetNowait", syncmgr.ErrEmpty)
			}
			mgr.Blocking(ctx)
			q.b.hook(ctx, "wait")
			if err := q.waitChange(wctx, tr.Header.Revision); err != nil {
				return nil, q.waitErr(ctx, wctx, "Queue.Get", err, syncmgr.ErrEmpty)
			}
			continue
		}
		if len(acks) > 0 {
			q.b.hook(ctx, "ack")
		}
		octx, cancel = q.b.op(ctx)
		// The claim names its call, for an adoption to tell whether the client got the
		// item (adopt.go); it is made only while the session is this manager's (fence).
		t, err := q.b.cli.Txn(octx).
			If(append(sl.fence(),
				clientv3.Compare(clientv3.CreateRevision(q.claimKey(num)), "=", 0),
				clientv3.Compare(clientv3.CreateRevision(q.itemKey(num)), "=", pickRev))...).
			Then(append(q.ackOps(acks), clientv3.OpPut(q.claimKey(num), claimValue(callID), clientv3.WithLease(sl.id)))...).
			Else(sl.fenceElse()...).
			Commit()
		cancel()
		if err != nil {
			q.giveBackAcks(qs, acks)
			// etcd may have made the claim all the same, its answer lost. A claim naming
			// a call whose caller got an error would pass, at an adoption, for an item
			// handed out: it goes first (dropClaim), retried with a back-off: a wait.
			mgr.Blocking(ctx)
			q.dropClaim(ctx.Done(), sl, num, callID)
			return nil, storeErr(ctx, "Queue.Get", err)
		}
		if sl.adopted(t) {
			q.b.hook(ctx, "fenced")
			return nil, errAdopted("Queue.Get") // and the adoption settled the acks
		}
		if !t.Succeeded {
			continue // another getter was faster
		}
		acks = nil
		q.b.hook(ctx, "claimed")
		// Delivered once the reply is the client's — written, or, reserved for a caller
		// that cancelled meanwhile, accepted (OnTaken) — and acknowledged with the
		// session's next Get or TaskDone, which cannot come before. If the client never
		// takes the reply, the claim goes and the item is back at once (Undo).
		mgr.Undo(ctx, func() {
			q.mu.Lock()
			for i, n := range qs.delivered { // a CPython client's call: taken at once
				if n == num {
					qs.delivered = append(qs.delivered[:i], qs.delivered[i+1:]...)
					break
				}
			}
			q.mu.Unlock()
			if q.unclaim(sl, num, callID) != nil {
				go q.dropClaim(nil, sl, num, callID) // not holding up the runtime
			}
		})
		mgr.OnTaken(ctx, func() {
			q.mu.Lock()
			qs.delivered = append(qs.delivered, num)
			q.mu.Unlock()
		})
		return pick, nil
	}
}

// unclaim deletes the claim on item num if it is still the one call callID of session
// sl made: if the lease expired meanwhile, or another manager adopted the session and
// gave the item back, the item may be another's claim now.
func (q *queueObj) unclaim(sl *sessionLease, num string, callID uint64) error {
	octx, cancel := q.b.op(q.b.ctx)
	defer cancel()
	k := q.claimKey(num)
	_, err := q.b.cli.Txn(octx).If(append(sl.fence(),
		clientv3.Compare(clientv3.Value(k), "=", claimValue(callID)),
		clientv3.Compare(clientv3.LeaseValue(k), "=", int64(sl.id)))...).
		Then(clientv3.OpDelete(k)).Commit()
	return err
}

// dropClaim unclaims until etcd says the claim is gone, or the lease is (with it). It
// waits until wait closes (nil: no limit), then goes on in the background.
func (q *queueObj) dropClaim(wait <-chan struct{}, sl *sessionLease, num string, callID uint64) {
	for backoff := 50 * time.Millisecond; q.unclaim(sl, num, callID) != nil; backoff = min(2*backoff, time.Second) {
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
			continue
		case <-wait:
			go q.dropClaim(nil, sl, num, callID)
		case <-sl.lost:
		case <-q.b.ctx.Done():
		}
		t.Stop()
		return
	}
}

// taskDone counts one task done and acknowledges the session's delivered items.
func (q *queueObj) taskDone(ctx context.Context) error {
	c := mgr.CallerOf(ctx)
	sl, err := q.b.leases.of(ctx, c)
	if err != nil {
		return err
	}
	qs := q.session(c, sl)
	acks := q.takeAcks(qs)
	octx, cancel := q.b.op(ctx)
	defer cancel()
	for {
		r, err := q.b.cli.Get(octx, q.metaKey())
		if err != nil {
			q.giveBackAcks(qs, acks)
			return storeErr(ctx, "Queue.TaskDone", err)
		}
		if len(r.Kvs) == 0 {
			return fmt.Errorf("%w: the queue at %s is gone from etcd", mgr.ErrUnknownObject, q.key)
		}
		m, err := parseMeta(r.Kvs[0].Value)
		if err != nil {
			return err
		}
		if m.unfinished <= 0 {
			q.giveBackAcks(qs, acks)
			return fmt.Errorf("%w: Queue.TaskDone", syncmgr.ErrTaskDone)
		}
		m.unfinished--
		if len(acks) > 0 {
			q.b.hook(ctx, "ack")
		}
		t, err := q.b.cli.Txn(octx).If(append(sl.fence(), clientv3.Compare(clientv3.ModRevision(q.metaKey()), "=", r.Kvs[0].ModRevision))...).
			Then(append(q.ackOps(acks), clientv3.OpPut(q.metaKey(), m.String()))...).Else(sl.fenceElse()...).Commit()
		if err != nil {
			q.giveBackAcks(qs, acks)
			return storeErr(ctx, "Queue.TaskDone", err)
		}
		if sl.adopted(t) {
			return errAdopted("Queue.TaskDone")
		}
		if t.Succeeded {
			q.cacheMeta(m, t.Header.Revision)
			return nil
		}
	}
}

// join waits until every item put has been marked done.
func (q *queueObj) join(ctx context.Context) error {
	for {
		octx, cancel := q.b.op(ctx)
		r, err := q.b.cli.Get(octx, q.metaKey())
		cancel()
		if err != nil {
			return storeErr(ctx, "Queue.Join", err)
		}
		var m meta
		if len(r.Kvs) > 0 {
			if m, err = parseMeta(r.Kvs[0].Value); err != nil {
				return err
			}
		}
		if m.unfinished <= 0 {
			return nil
		}
		mgr.Blocking(ctx)
		if err := q.waitChange(ctx, r.Header.Revision); err != nil {
			return err
		}
	}
}

func (x *queueObj) storeKey() string { return x.key }
