package etcd

import (
	"context"
	"fmt"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Event in etcd: the key <event>/set exists while the event is set. Wait watches it.

func init() {
	registerKind(syncmgr.EventTypeID, eventKind)
}

func eventKind(b *Backend) *kind {
	base := mgr.LookupType(syncmgr.EventTypeID)
	wait := func(timed bool) qcall {
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
			ok, err := obj.(*eventObj).wait(ctx, dl)
			if timed {
				res.Bool(ok)
			}
			return err
		}
	}
	impl := map[string]qcall{
		"Set": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			e := obj.(*eventObj)
			return e.do(ctx, "Event.Set", clientv3.OpPut(e.setKey(), ""))
		},
		"Clear": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			e := obj.(*eventObj)
			return e.do(ctx, "Event.Clear", clientv3.OpDelete(e.setKey()))
		},
		"IsSet": func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			set, _, err := obj.(*eventObj).isSet(ctx)
			res.Bool(set)
			return err
		},
		"Wait":        wait(false),
		"WaitTimeout": wait(true),
	}
	return &kind{
		desc: &mgr.TypeDesc{TypeID: base.TypeID, Methods: methodsLike(base, impl)},
		open: func(key string) any { return &eventObj{b: b, key: key} },
	}
}

// eventObj is a manager's handle on one event in etcd.
type eventObj struct {
	b   *Backend
	key string
}

func (e *eventObj) setKey() string { return e.key + "/set" }

// Released implements mgr.Releaser for created events.
func (e *eventObj) Released() { e.b.releaseKeys(e.key) }

func (e *eventObj) do(ctx context.Context, what string, op clientv3.Op) error {
	octx, cancel := e.b.op(ctx)
	defer cancel()
	_, err := e.b.cli.Do(octx, op)
	return storeErr(ctx, what, err)
}

func (e *eventObj) isSet(ctx context.Context) (bool, int64, error) {
	octx, cancel := e.b.op(ctx)
	defer cancel()
	r, err := e.b.cli.Get(octx, e.setKey(), clientv3.WithCountOnly())
	if err != nil {
		return false, 0, storeErr(ctx, "Event", err)
	}
	return r.Count > 0, r.Header.Revision, nil
}

// wait returns once the event is set (true), or when dl passes (false, nil).
func (e *eventObj) wait(ctx context.Context, dl time.Time) (bool, error) {
	set, rev, err := e.isSet(ctx)
	if err != nil || set {
		return set, err
	}
	mgr.Blocking(ctx)
	wctx := ctx
	if !dl.IsZero() {
		var cancel context.CancelFunc
		wctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	cctx, cancel := context.WithCancel(wctx)
	defer cancel()
	wch := e.b.cli.Watch(clientv3.WithRequireLeader(cctx), e.setKey(), clientv3.WithRev(rev+1), clientv3.WithFilterDelete())
	for {
		select {
		case wr, ok := <-wch:
			if ok && wr.Err() == nil && len(wr.Events) > 0 {
				return true, nil
			}
			if ok && wr.Err() == nil {
				continue
			}
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			if wctx.Err() != nil {
				return false, nil
			}
			if !ok {
				return false, fmt.Errorf("%w: watch of %s ended", ErrUnavailable, e.key)
			}
			return false, storeErr(ctx, "Event.Wait", wr.Err())
		case <-wctx.Done():
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			return false, nil
		}
	}
}

func (x *eventObj) storeKey() string { return x.key }
