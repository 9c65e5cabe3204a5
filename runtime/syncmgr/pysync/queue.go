package pysync

import (
	"context"
	"errors"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// Queue and JoinableQueue: CPython serves queue.Queue through an AutoProxy of its public
// methods.

type pyQueue = syncmgr.Queue[any]

func queueErr(err error) error {
	switch {
	case errors.Is(err, syncmgr.ErrEmpty):
		return &pickle.Exception{Module: "_queue", Name: "Empty"}
	case errors.Is(err, syncmgr.ErrFull):
		return &pickle.Exception{Module: "queue", Name: "Full"}
	case errors.Is(err, syncmgr.ErrShutDown):
		return &pickle.Exception{Module: "queue", Name: "ShutDown"} // Python 3.13
	case errors.Is(err, syncmgr.ErrTaskDone):
		return mgr.PyException("ValueError", "task_done() called too many times")
	}
	return err
}

func newQueue(typeID string) *mgr.PyType {
	return &mgr.PyType{
		TypeID:   typeID,
		GoTypeID: syncmgr.QueueTypeID[any](),
		Exposed:  []string{"empty", "full", "get", "get_nowait", "join", "put", "put_nowait", "qsize", "shutdown", "task_done"},
		New: func(ctx context.Context, args []any, kwds *pickle.Dict) (any, error) {
			v, set, err := params("Queue", args, kwds, "maxsize")
			if err != nil {
				return nil, err
			}
			n := 0
			if set[0] {
				if n, err = toInt(v[0], "maxsize"); err != nil {
					return nil, err
				}
			}
			return syncmgr.NewQueue[any](max(n, 0)), nil
		},
		Methods: map[string]mgr.PyMethod{
			"empty": m0("empty", func(o any) (any, error) { return o.(*pyQueue).Empty(), nil }),
			"full":  m0("full", func(o any) (any, error) { return o.(*pyQueue).Full(), nil }),
			"qsize": m0("qsize", func(o any) (any, error) { return int64(o.(*pyQueue).Qsize()), nil }),
			"get": func(ctx context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
				v, set, err := params("get", args, kwds, "block", "timeout")
				if err != nil {
					return nil, err
				}
				q := o.(*pyQueue)
				if set[0] && !truth(v[0]) {
					x, err := q.GetNowait(ctx)
					return x, queueErr(err)
				}
				d, err := timeout(v[1], set[1])
				if err != nil {
					return nil, err
				}
				mgr.Blocking(ctx)
				x, err := q.GetTimeout(ctx, d)
				return x, queueErr(err)
			},
			"get_nowait": func(ctx context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
				if err := noArgs("get_nowait", args, kwds); err != nil {
					return nil, err
				}
				// The call's ctx: the item goes back should the reply not reach the client.
				x, err := o.(*pyQueue).GetNowait(ctx)
				return x, queueErr(err)
			},
			"put": func(ctx context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
				v, set, err := params("put", args, kwds, "item", "block", "timeout")
				if err != nil {
					return nil, err
				}
				if err := need("put", set, 1, "item"); err != nil {
					return nil, err
				}
				q := o.(*pyQueue)
				if set[1] && !truth(v[1]) {
					return nil, queueErr(q.PutNowait(ctx, v[0]))
				}
				d, err := timeout(v[2], set[2])
				if err != nil {
					return nil, err
				}
				mgr.Blocking(ctx)
				return nil, queueErr(q.PutTimeout(ctx, v[0], d))
			},
			"put_nowait": m1("put_nowait", func(o, x any) (any, error) {
				return nil, queueErr(o.(*pyQueue).PutNowait(context.Background(), x))
			}),
			// Python 3.13's Queue.shutdown(immediate=False); earlier clients never call it.
			"shutdown": func(_ context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
				v, set, err := params("shutdown", args, kwds, "immediate")
				if err != nil {
					return nil, err
				}
				o.(*pyQueue).Shutdown(set[0] && truth(v[0]))
				return nil, nil
			},
			"task_done": m0("task_done", func(o any) (any, error) { return nil, queueErr(o.(*pyQueue).TaskDone()) }),
			"join": func(ctx context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
				if err := noArgs("join", args, kwds); err != nil {
					return nil, err
				}
				mgr.Blocking(ctx)
				return nil, o.(*pyQueue).Join(ctx)
			},
		},
	}
}
