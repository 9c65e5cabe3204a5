package pysync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// Lock, RLock, Semaphore, BoundedSemaphore (AcquirerProxy), Condition (ConditionProxy),
// Event (EventProxy), Barrier (BarrierProxy). An RLock's owner is the connection the
// call came on — CPython's server thread, one per client thread.

// acquirer is what the acquirable syncmgr types share.
type acquirer interface {
	Acquire(ctx context.Context) error
	AcquireTimeout(ctx context.Context, timeout time.Duration) (bool, error)
	TryAcquire(ctx context.Context) (bool, error)
}

// acquire is acquire(blocking=True, timeout=None).
func acquire(ctx context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
	v, set, err := params("acquire", args, kwds, "blocking", "timeout")
	if err != nil {
		return nil, err
	}
	a := o.(acquirer)
	if set[0] && !truth(v[0]) {
		if set[1] && v[1] != nil {
			return nil, mgr.PyException("ValueError", "can't specify a timeout for a non-blocking call")
		}
		return a.TryAcquire(ctx)
	}
	d, err := timeout(v[1], set[1])
	if err != nil {
		return nil, err
	}
	mgr.Blocking(ctx)
	if d < 0 {
		if err := a.Acquire(ctx); err != nil {
			return nil, err
		}
		return true, nil
	}
	return a.AcquireTimeout(ctx, d)
}

func releaseErr(err error, bounded bool) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syncmgr.ErrOverRelease) && bounded:
		return mgr.PyException("ValueError", "Semaphore released too many times")
	case errors.Is(err, syncmgr.ErrNotHeld):
		return mgr.PyException("RuntimeError", "release unlocked lock")
	case errors.Is(err, syncmgr.ErrNotOwner):
		return mgr.PyException("RuntimeError", "cannot release un-acquired lock")
	}
	return err
}

func acquirerType(typeID, goTypeID string, newFn func(args []any, kwds *pickle.Dict) (any, error),
	release func(ctx context.Context, o any) error, bounded bool, repr func(o any) string) *mgr.PyType {
	return &mgr.PyType{
		TypeID:   typeID,
		GoTypeID: goTypeID,
		Exposed:  []string{"acquire", "release"},
		New: func(_ context.Context, args []any, kwds *pickle.Dict) (any, error) {
			return newFn(args, kwds)
		},
		Methods: map[string]mgr.PyMethod{
			"acquire": acquire,
			"release": func(ctx context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
				if err := noArgs("release", args, kwds); err != nil {
					return nil, err
				}
				return nil, releaseErr(release(ctx, o), bounded)
			},
		},
		Repr: repr,
	}
}

func semValue(name string, args []any, kwds *pickle.Dict) (int, error) {
	v, set, err := params(name, args, kwds, "value")
	if err != nil {
		return 0, err
	}
	n := 1
	if set[0] {
		if n, err = toInt(v[0], "value"); err != nil {
			return 0, err
		}
	}
	if n < 0 {
		return 0, mgr.PyException("ValueError", "semaphore initial value must be >= 0")
	}
	return n, nil
}

var (
	lockType = acquirerType("Lock", syncmgr.LockTypeID,
		func(args []any, kwds *pickle.Dict) (any, error) {
			return syncmgr.NewLock(), noArgs("Lock", args, kwds)
		},
		func(ctx context.Context, o any) error { return o.(*syncmgr.Lock).Release(ctx) }, false,
		func(o any) string {
			if o.(*syncmgr.Lock).Locked() {
				return "<locked _thread.lock object>"
			}
			return "<unlocked _thread.lock object>"
		})
	rlockType = acquirerType("RLock", syncmgr.RLockTypeID,
		func(args []any, kwds *pickle.Dict) (any, error) {
			return syncmgr.NewRLock(), noArgs("RLock", args, kwds)
		},
		func(ctx context.Context, o any) error { return o.(*syncmgr.RLock).Release(ctx) }, false,
		func(o any) string {
			r := o.(*syncmgr.RLock)
			state := "unlocked"
			if r.Locked() {
				state = "locked"
			}
			return fmt.Sprintf("<%s _thread.RLock object count=%d>", state, r.Count())
		})
	semaphoreType = acquirerType("Semaphore", syncmgr.SemaphoreTypeID,
		func(args []any, kwds *pickle.Dict) (any, error) {
			n, err := semValue("Semaphore", args, kwds)
			if err != nil {
				return nil, err
			}
			return syncmgr.NewSemaphore(n)
		},
		func(ctx context.Context, o any) error { return o.(*syncmgr.Semaphore).Release(ctx, 1) }, false,
		func(o any) string {
			return fmt.Sprintf("<threading.Semaphore value=%d>", o.(*syncmgr.Semaphore).Value())
		})
	boundedSemaphoreType = acquirerType("BoundedSemaphore", syncmgr.BoundedSemaphoreTypeID,
		func(args []any, kwds *pickle.Dict) (any, error) {
			n, err := semValue("BoundedSemaphore", args, kwds)
			if err != nil {
				return nil, err
			}
			return syncmgr.NewBoundedSemaphore(n)
		},
		func(ctx context.Context, o any) error { return o.(*syncmgr.BoundedSemaphore).Release(ctx) }, true,
		func(o any) string {
			return fmt.Sprintf("<threading.BoundedSemaphore value=%d>", o.(*syncmgr.BoundedSemaphore).Value())
		})
)

var conditionType = &mgr.PyType{
	TypeID:   "Condition",
	GoTypeID: syncmgr.ConditionTypeID,
	Exposed:  []string{"acquire", "release", "wait", "notify", "notify_all"},
	New: func(_ context.Context, args []any, kwds *pickle.Dict) (any, error) {
		v, _, err := params("Condition", args, kwds, "lock")
		if err != nil {
			return nil, err
		}
		if v[0] != nil {
			return nil, mgr.PyTypeError("Condition(lock) is not supported by the Go manager: create Condition() (it has its own RLock)")
		}
		return syncmgr.NewCondition(nil, syncmgr.NewRLock())
	},
	Methods: map[string]mgr.PyMethod{
		"acquire": acquire,
		"release": func(ctx context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
			if err := noArgs("release", args, kwds); err != nil {
				return nil, err
			}
			return nil, releaseErr(o.(*syncmgr.Condition).Release(ctx), false)
		},
		"wait": func(ctx context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
			v, set, err := params("wait", args, kwds, "timeout")
			if err != nil {
				return nil, err
			}
			d, err := timeout(v[0], set[0])
			if err != nil {
				return nil, err
			}
			mgr.Blocking(ctx)
			ok, err := o.(*syncmgr.Condition).WaitTimeout(ctx, d)
			if errors.Is(err, syncmgr.ErrNotOwner) {
				return nil, mgr.PyException("RuntimeError", "cannot wait on un-acquired lock")
			}
			return ok, err
		},
		"notify": func(ctx context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
			v, set, err := params("notify", args, kwds, "n")
			if err != nil {
				return nil, err
			}
			n := 1
			if set[0] {
				if n, err = toInt(v[0], "n"); err != nil {
					return nil, err
				}
			}
			if err := o.(*syncmgr.Condition).Notify(ctx, n); errors.Is(err, syncmgr.ErrNotOwner) {
				return nil, mgr.PyException("RuntimeError", "cannot notify on un-acquired lock")
			} else if err != nil {
				return nil, err
			}
			return nil, nil
		},
		"notify_all": func(ctx context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
			if err := noArgs("notify_all", args, kwds); err != nil {
				return nil, err
			}
			if err := o.(*syncmgr.Condition).NotifyAll(ctx); errors.Is(err, syncmgr.ErrNotOwner) {
				return nil, mgr.PyException("RuntimeError", "cannot notify on un-acquired lock")
			} else if err != nil {
				return nil, err
			}
			return nil, nil
		},
	},
}

var eventType = &mgr.PyType{
	TypeID:   "Event",
	GoTypeID: syncmgr.EventTypeID,
	Exposed:  []string{"is_set", "set", "clear", "wait"},
	New: func(_ context.Context, args []any, kwds *pickle.Dict) (any, error) {
		return syncmgr.NewEvent(), noArgs("Event", args, kwds)
	},
	Methods: map[string]mgr.PyMethod{
		"is_set": m0("is_set", func(o any) (any, error) { return o.(*syncmgr.Event).IsSet(), nil }),
		"set":    m0("set", func(o any) (any, error) { o.(*syncmgr.Event).Set(); return nil, nil }),
		"clear":  m0("clear", func(o any) (any, error) { o.(*syncmgr.Event).Clear(); return nil, nil }),
		"wait": func(ctx context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
			v, set, err := params("wait", args, kwds, "timeout")
			if err != nil {
				return nil, err
			}
			d, err := timeout(v[0], set[0])
			if err != nil {
				return nil, err
			}
			mgr.Blocking(ctx)
			return o.(*syncmgr.Event).WaitTimeout(ctx, d)
		},
	},
	Repr: func(o any) string {
		if o.(*syncmgr.Event).IsSet() {
			return "<threading.Event: set>"
		}
		return "<threading.Event: unset>"
	},
}

func barrierErr(err error) error {
	if errors.Is(err, syncmgr.ErrBrokenBarrier) {
		return &pickle.Exception{Module: "threading", Name: "BrokenBarrierError"}
	}
	return err
}

var barrierType = &mgr.PyType{
	TypeID:   "Barrier",
	GoTypeID: syncmgr.BarrierTypeID,
	Exposed:  []string{"__getattribute__", "wait", "abort", "reset"},
	New: func(_ context.Context, args []any, kwds *pickle.Dict) (any, error) {
		v, set, err := params("Barrier", args, kwds, "parties", "action", "timeout")
		if err != nil {
			return nil, err
		}
		if err := need("Barrier", set, 1, "parties"); err != nil {
			return nil, err
		}
		if v[1] != nil {
			return nil, mgr.PyTypeError("Barrier(action=...) cannot run a Python function in the Go manager")
		}
		if v[2] != nil {
			return nil, mgr.PyTypeError("Barrier(timeout=...) is not supported by the Go manager: pass the timeout to wait()")
		}
		n, err := toInt(v[0], "parties")
		if err != nil {
			return nil, err
		}
		if n < 1 {
			return nil, mgr.PyException("ValueError", "parties must be > 0")
		}
		return syncmgr.NewBarrier(n)
	},
	Methods: map[string]mgr.PyMethod{
		"__getattribute__": m1("__getattribute__", func(o, x any) (any, error) {
			b := o.(*syncmgr.Barrier)
			switch x {
			case "parties":
				return int64(b.Parties()), nil
			case "n_waiting":
				return int64(b.NWaiting()), nil
			case "broken":
				return b.Broken(), nil
			}
			return nil, mgr.PyException("AttributeError", fmt.Sprintf("'Barrier' object has no attribute %s", repr(x)))
		}),
		"wait": func(ctx context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
			v, set, err := params("wait", args, kwds, "timeout")
			if err != nil {
				return nil, err
			}
			d, err := timeout(v[0], set[0])
			if err != nil {
				return nil, err
			}
			mgr.Blocking(ctx)
			i, err := o.(*syncmgr.Barrier).WaitTimeout(ctx, d)
			if err != nil {
				return nil, barrierErr(err)
			}
			return int64(i), nil
		},
		"abort": m0("abort", func(o any) (any, error) { o.(*syncmgr.Barrier).Abort(); return nil, nil }),
		"reset": m0("reset", func(o any) (any, error) { o.(*syncmgr.Barrier).Reset(); return nil, nil }),
	},
}
