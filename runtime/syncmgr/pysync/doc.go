// Package pysync gives CPython's SyncManager clients the stock typeids — dict, list,
// Queue, JoinableQueue, Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event,
// Barrier, Namespace, Value, Array (and the Iterator that iter(dict) returns) — served
// by the runtime/syncmgr types, so that a Python client and a Go client share one
// object. Import it for its side effect in a manager that serves Python clients:
//
//	import _ "github.com/mgr-go/mgr/runtime/syncmgr/pysync"
//
// Each typeid answers the method names CPython's stock proxies call (DictProxy's
// __getitem__, AutoProxy's put, AcquirerProxy's acquire, BarrierProxy's
// __getattribute__ ...) and raises what Python code expects: KeyError, IndexError,
// queue.Empty, queue.Full, RuntimeError on releasing an unheld Lock or RLock, ValueError
// on over-releasing a BoundedSemaphore, threading.BrokenBarrierError.
//
// The Go types behind them hold Python values as package pickle decodes them (int64,
// string, pickle.Bytes, []any, pickle.Tuple, *pickle.Dict, ...): dict is
// syncmgr.Dict[any, any], list syncmgr.List[any], Queue and JoinableQueue
// syncmgr.Queue[any], Value syncmgr.Value[any], Array syncmgr.Array[any]; the others are
// the syncmgr types themselves.
//
// What differs from CPython's own manager: a callable (Barrier's action, list.sort's
// key, Condition's lock argument) cannot run in a Go manager and is refused with a
// TypeError; Barrier's default timeout is refused likewise; Value and Array do not keep
// their typecode (Array slices come back as lists).
package pysync
