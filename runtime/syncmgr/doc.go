// Package syncmgr is mgr's prebuilt SyncManager: every shared type Python's
// multiprocessing.SyncManager offers, generic where Go allows, and crash-safe.
//
// The types here are plain Go structs marked //mgr:expose; mgrgen writes their proxies
// (LockProxy, DictProxy[K,V], ...), creators (CreateLock, CreateDict[K,V], ...) and
// registration into mgr_gen.go. A program imports this package, starts or
// connects to a manager, and creates shared objects through a *mgr.Client:
//
//	m, err := syncmgr.Start(ctx, mgr.Options{})
//	defer m.Shutdown(ctx)
//	l, err := syncmgr.CreateLock(ctx, m.Client())
//	d, err := syncmgr.CreateDict[string, int](ctx, m.Client())
//	n, err := d.AddNumber(ctx, "hits", 1) // atomic in the manager: no lost updates
//
// # Sessions, ownership and crash safety
//
// Ownership belongs to a client session (one connection per process per manager), not
// to a goroutine: an RLock is re-entrant for every goroutine of the process that holds
// it. A Lock may be released by any session, as in Python (a child acquires, the parent
// releases).
//
// When a session ends while it holds a Lock, RLock or Semaphore permit (clean close,
// crash, kill -9, lost connection), the manager returns the permits, and the next
// acquirer gets the lock together with an error wrapping ErrAbandoned, like a robust
// pthread mutex's EOWNERDEAD: errors.Is(err, ErrAbandoned) means "you hold it now, but
// the state it protects may be half-updated". Every other error from an acquire means the
// lock is not held. A Barrier whose waiter dies (or gives up) becomes broken, and a
// waiter whose session ends is removed from every wait queue.
//
// # Blocking calls, ctx and timeouts
//
// Every blocking method honours ctx: a client's cancel or deadline reaches the manager.
// Each also has a ...Timeout variant whose timeout the manager decides; prefer it for a
// bounded wait that may succeed, because the manager then replies with the outcome
// (a Get that took an item returns it). When a client's own ctx gives up at the very
// moment the manager grants a lock or hands out an item, nothing is lost: either the
// call returns the item or grant (its reply was already on its way), or the manager
// undoes it — the item goes back to the front of the queue, the permit is returned, a
// value a Pop took goes back into its Dict, List or Set —
// once the client says the caller gave up (mgr.Undo; the README's "How a call travels").
// A Put that returns its ctx's error did not put its item in, so putting it again
// duplicates nothing: the manager puts it only while the caller will hear so
// (mgr.Commit).
//
// # Generic types
//
// Generic types need one registration per instantiation in every process (the manager
// child re-executes the same binary, so init covers both). This package registers the
// common ones (see registered.go); register others from an init function of your own:
//
//	func init() { syncmgr.RegisterDict[string, *syncmgr.ListProxy[int]]() }
//
// Values of type any (Namespace attributes, Dict[string, any]) carry the basic types,
// []any, map[string]any and types registered with mgr.RegisterValue.
package syncmgr

//go:generate go tool mgrgen
