package mgrotel

import (
	"context"
	"strings"

	"github.com/mgr-go/mgr/runtime/mgr"
	"go.opentelemetry.io/otel/metric"
)

// ObserveServer reports the manager's table as gauges, read from s.Info at each
// collection:
//
//	mgr.sessions                 client sessions
//	mgr.objects                  objects, by type (mgr.typeid, type arguments left out)
//	mgr.references               references held, by type
//	mgr.waiters                  calls blocked in an object (a Lock's acquirers, a Queue's
//	                             getters and putters, …), by type
//	mgr.queue.length             items in each queue, by object (mgr.object) and type
//
// A collection walks the whole table, as Info does: with millions of objects, collect
// less often. Unregister the returned registration to stop.
func ObserveServer(s *mgr.Server, cfg Config) (metric.Registration, error) {
	m := cfg.meter()
	sessions, err := m.Int64ObservableGauge("mgr.sessions", metric.WithDescription("Client sessions of the manager."), metric.WithUnit("{session}"))
	if err != nil {
		return nil, err
	}
	objects, err := m.Int64ObservableGauge("mgr.objects", metric.WithDescription("Objects in the manager, by type."), metric.WithUnit("{object}"))
	if err != nil {
		return nil, err
	}
	refs, err := m.Int64ObservableGauge("mgr.references", metric.WithDescription("References held to the manager's objects, by type."), metric.WithUnit("{reference}"))
	if err != nil {
		return nil, err
	}
	waiters, err := m.Int64ObservableGauge("mgr.waiters", metric.WithDescription("Calls blocked in an object (acquirers, getters, putters, waiters), by type."), metric.WithUnit("{call}"))
	if err != nil {
		return nil, err
	}
	qlen, err := m.Int64ObservableGauge("mgr.queue.length", metric.WithDescription("Items in each queue."), metric.WithUnit("{item}"))
	if err != nil {
		return nil, err
	}
	return m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		info := s.Info()
		o.ObserveInt64(sessions, int64(len(info.Sessions)))
		type byType struct{ objects, refs, waiters int64 }
		types := map[string]*byType{}
		for _, obj := range info.Objects {
			t := baseType(obj.TypeID)
			bt := types[t]
			if bt == nil {
				bt = &byType{}
				types[t] = bt
			}
			bt.objects++
			bt.refs += int64(obj.Refs)
			bt.waiters += waiting(obj.State)
			if t == "syncmgr.Queue" {
				if n, ok := asInt(obj.State.Field("length")); ok {
					o.ObserveInt64(qlen, n, metric.WithAttributes(AttrObject.Int64(int64(obj.ID)), AttrTypeID.String(obj.TypeID)))
				}
			}
		}
		for t, bt := range types {
			attrs := metric.WithAttributes(AttrTypeID.String(t))
			o.ObserveInt64(objects, bt.objects, attrs)
			o.ObserveInt64(refs, bt.refs, attrs)
			o.ObserveInt64(waiters, bt.waiters, attrs)
		}
		return nil
	}, sessions, objects, refs, waiters, qlen)
}

// waiting counts an object's blocked calls: its listed waiters, or the figures its type
// gives (a Queue's getters and putters, an Event's or Barrier's waiting).
func waiting(st *mgr.ObjectState) int64 {
	if st == nil {
		return 0
	}
	if n := len(st.Waiters) + st.WaitersCut; n > 0 {
		return int64(n)
	}
	var n int64
	for _, name := range []string{"getters", "putters", "waiting"} {
		if v, ok := asInt(st.Field(name)); ok {
			n += v
		}
	}
	return n
}

func asInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int:
		return int64(v), true
	case int64:
		return v, true
	case uint64:
		return int64(v), true
	}
	return 0, false
}

func baseType(t string) string {
	if i := strings.IndexByte(t, '['); i >= 0 {
		return t[:i]
	}
	return t
}
