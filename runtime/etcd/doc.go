// Package etcd keeps the SyncManager types (runtime/syncmgr) in etcd v3, so that any
// number of managers, on any machines, serve the same objects, and none of them is a
// single point of failure. Clients use the generated syncmgr proxies unchanged: a
// manager started with this backend (Serve, or mgr.Server.SetBackend(New(...))) serves
// the same TypeIDs, with the same method names and signatures, from etcd.
//
// It is a nested module (own go.mod): programs that do not use it never download etcd.
//
// # Design
//
// Objects. A named object lives under <prefix>/o/n/<name>; Backend.Declare writes its
// TypeID under <prefix>/names/<name> once for the cluster, and every manager finds it by
// name (mgr.Backend.Lookup). A created object (CreateDict, ...) gets a cluster-wide ID —
// the revision of a write to <prefix>/ids, unique and increasing across managers — and
// lives under <prefix>/o/c/<id>. Each manager holding it keeps a reference key on it,
// <prefix>/refs/<id>/<lease>, attached to that manager's own lease; the object is deleted when the
// last one goes — released by its manager, or expired with a dead manager's lease and
// noticed by any manager (they all watch, and sweep at start) — in a transaction
// conditional on no reference key being left: no leak, and deleting twice is harmless
// (share.go, gc.go). A token of a created object (Proxy.Token) carries the cluster's
// identity and the object's cluster-wide ID, so it attaches on any manager of the
// cluster (same etcd, same prefix): that manager takes the hand-over key the minting
// manager wrote and writes its own reference key, in one transaction. A token attaches
// once; while it waits, the minting manager keeps the object (for the token's TTL).
//
// Sessions and leases. Each client session that holds something in etcd has an etcd
// lease, granted by its manager at first need and kept alive by it. A clean close, a
// client killed with -9, a connection lost past the resume window: the manager revokes
// the lease, and everything attached to it goes at once. A dead manager stops the
// keep-alives and etcd expires its leases after Config.TTL: its clients' locks are then
// abandoned (the next acquirer gets syncmgr.ErrAbandoned), their queue claims return to
// the queue, their barrier waits break the barrier.
//
// Resume on another manager. A client connected with mgr.Options.Failover (the other
// managers' addresses) redials them when its manager stops answering, and asks to resume
// its session there. The manager it reaches adopts the session (Backend.Adopt, an
// mgr.Adopter): a new session takes over the old session's lease — found by a record
// <prefix>/sessions/<resume key> that the old manager wrote, attached to the lease, when
// it granted it — and keeps it alive; the client keeps its locks (same fencing token),
// permits and so on. Its queue claims are settled: the client lists the calls whose
// replies it did not take, and each claim names its call, so a claim whose item reached
// the client is acknowledged and the others' items come back (adopt.go). What the old
// session was in the middle of is dropped: its lock waits that had not been granted, its
// barrier and condition waits. The hand-over deletes the record in one transaction; a
// manager revokes a session's lease only if the record is still there, and makes its
// queue changes for the session only while it is (a fence, for an old manager that
// lives on, cut off from its client), so a lease is either handed over or revoked, never
// both. The client sees it as a restart of its manager: calls in flight fail with
// mgr.ErrManagerRestarted (a Get among them gave nothing; other calls may or may not
// have been applied), proxies made before are stale, objects are looked up again by
// name. Within the TTL, that is: after it the lease has expired, and the client starts
// afresh.
//
// Locks (Lock; see lock.go) follow etcd's concurrency.Mutex: a key per acquirer,
// attached to its session's lease, the oldest holds the lock, each waiter watches the
// deletion of the key just before its own — no polling, no herd. A lease-less owner key
// tells an orderly release from an abandonment. The fencing token (FencingToken) is the
// holder key's create revision: strictly increasing from holder to holder, it lets the
// storage a lock guards refuse a late write from a holder whose lease expired while it
// was paused — the hazard Kleppmann describes in Redis' Redlock.
//
// Queues (queue.go) do not delete on get, as etcd's recipe Queue does (losing the item
// when the getter dies with it): a Get claims the item with a key attached to the
// getter's lease, and the claim is acknowledged (item and claim deleted, in one
// transaction) once the getter has it — at its session's next Get or TaskDone, when its
// session ends on a live manager, or when another manager adopts the session (then only
// if the client took the Get's reply; otherwise the item comes back). So with
// Options.Failover an item is handed out exactly once even when a manager dies. A
// session not adopted within the TTL leaves claims that expire with its lease, and the
// items are back in their places: never lost, at worst delivered twice (at-least-once).
// queue.go lists what is and is not exact.
//
// Value-like types (Dict, List, Set, Value, Array, Namespace; blob.go) keep their state
// in one key and run syncmgr's own methods on a restored copy; a change is a
// transaction conditional on the revision it was computed from, retried on a lost race:
// every method is atomic and linearizable across managers (tested with porcupine). The
// state is bounded by etcd's value size limit (1.5 MiB by default), and each change
// rewrites it whole: keep these objects small (counters, flags, small maps).
//
// Every change that touches several keys is one etcd transaction, so nothing is ever
// half-applied. Blocking waits (Lock.Acquire, Queue.Get, Queue.Join) sleep on etcd
// watches that resume from a revision. When etcd is unreachable or has lost its
// quorum, calls fail after Config.OpTimeout with an error wrapping ErrUnavailable, and
// work again once etcd is back.
//
// Event is a key that exists while the event is set; Wait watches it. Semaphore and
// BoundedSemaphore (semaphore.go) count free permits in a key and give each taken permit
// a lease-attached key and a lease-less mark: a mark without its key is an abandoned
// permit, which the next acquirer takes over with ErrAbandoned.
//
// RLock is a Lock whose holding key carries the owner session's count. Barrier
// (barrier.go) numbers its fillings; each waiter's key is attached to its lease, and a
// key that vanishes before the barrier trips breaks it for all (ErrBrokenBarrier).
// Condition (condition.go) works over an etcd Lock or RLock: a waiter joins with a
// lease-attached key and releases the lock in one transaction, Notify deletes the
// oldest waiter keys, and the woken waiter takes the lock back.
//
// Every SyncManager type is kept in etcd; only Queue.GetMany answers ErrUnsupported.
//
// # Why etcd
//
// etcd's key-value operations are strictly serializable (Raft, checked by Jepsen), its
// leases match the runtime's session leases one to one, and its watches resume from a
// revision, so waits need no polling. Redis was rejected: its replication is
// asynchronous, so a failover can lose an acknowledged lock, and Redlock's safety is
// disputed (Kleppmann, "How to do distributed locking", 2016). NATS JetStream was
// rejected: Jepsen (2025) found it losing acknowledged writes with its default fsync
// policy.
package etcd
