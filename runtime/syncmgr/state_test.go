package syncmgr_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// logRecords is a slog.Handler handing records to a channel.
type logRecords chan slog.Record

func (h logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (h logRecords) Handle(_ context.Context, r slog.Record) error {
	select {
	case h <- r.Clone():
	default:
	}
	return nil
}
func (h logRecords) WithAttrs(as []slog.Attr) slog.Handler { return withAttrs{h, as} }
func (h logRecords) WithGroup(string) slog.Handler         { return h }

type withAttrs struct {
	h  logRecords
	as []slog.Attr
}

func (w withAttrs) Enabled(context.Context, slog.Level) bool { return true }
func (w withAttrs) Handle(ctx context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(w.as...)
	return w.h.Handle(ctx, r)
}
func (w withAttrs) WithAttrs(as []slog.Attr) slog.Handler {
	return withAttrs{w.h, append(w.as[:len(w.as):len(w.as)], as...)}
}
func (w withAttrs) WithGroup(string) slog.Handler { return w }

// objectInfo waits until the manager's Info shows object id in a state for which ok
// holds, and returns it. Info is asked again every few milliseconds: the state changes
// as other processes' calls arrive, and there is nothing else to wait on.
func objectInfo(t *testing.T, ctx context.Context, c *mgr.Client, id uint64, ok func(*mgr.ObjectState) bool) mgr.ObjectInfo {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var last mgr.ObjectInfo
	for {
		info, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range info.Objects {
			if o.ID == id {
				last = o
				if ok(o.State) {
					return o
				}
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("object #%d never reached the state waited for; last %+v (state %+v)", id, last, last.State)
		}
	}
}

// TestInfoShowsLockHolderAndWaitersAcrossProcesses: a worker process holds a Lock and two
// more wait for it; Info names the holder's pid and since when, and both waiters' pids.
// When the holder is killed, the manager logs the abandoned lock with its pid.
func TestInfoShowsLockHolderAndWaitersAcrossProcesses(t *testing.T) {
	ctx := testCtx(t)
	logs := make(logRecords, 256)
	m, err := syncmgr.Start(ctx, mgr.Options{Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	c := m.Client()
	l, err := syncmgr.CreateLock(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	acquired, err := syncmgr.CreateEvent(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	holder, err := m.Spawn(ctx, "lock-hold", l, acquired)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Kill()
	if err := acquired.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	var waiters []*mgr.Process
	for range 2 {
		p, err := m.Spawn(ctx, "lock-hold", l, acquired)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Kill()
		waiters = append(waiters, p)
	}
	o := objectInfo(t, ctx, c, l.ObjectID(), func(st *mgr.ObjectState) bool { return st != nil && len(st.Waiters) == 2 })
	st := o.State
	if st.Field("locked") != true || len(st.Holders) != 1 {
		t.Fatalf("state %+v: want locked with one holder", st)
	}
	h := st.Holders[0]
	if h.PID != holder.PID() || h.Since.Before(before.Add(-time.Second)) || h.Since.After(time.Now()) {
		t.Errorf("holder %+v, want pid %d since after %v", h, holder.PID(), before)
	}
	want := []int{waiters[0].PID(), waiters[1].PID()}
	got := []int{st.Waiters[0].PID, st.Waiters[1].PID}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) || st.Waiters[0].Op != "acquire" {
		t.Errorf("waiters %+v, want pids %v", st.Waiters, want)
	}

	holder.Kill()
	for {
		select {
		case r := <-logs:
			if !strings.Contains(r.Message, "lock abandoned") {
				continue
			}
			pid := int64(-1)
			r.Attrs(func(a slog.Attr) bool {
				if a.Key == mgr.LogPID {
					pid = a.Value.Int64()
				}
				return true
			})
			if pid != int64(holder.PID()) {
				t.Errorf("abandoned-lock record names pid %d, want %d", pid, holder.PID())
			}
		case <-ctx.Done():
			t.Fatal("no abandoned-lock record")
		}
		break
	}
	// Each waiter in turn gets the lock with ErrAbandoned, which ends its worker (holding
	// it): in the end nobody holds or waits.
	objectInfo(t, ctx, c, l.ObjectID(), func(st *mgr.ObjectState) bool {
		return len(st.Waiters) == 0 && len(st.Holders) == 0
	})
}

// TestEveryTypeReportsState: every SyncManager type describes itself in Info.
func TestEveryTypeReportsState(t *testing.T) {
	ctx := testCtx(t)
	m, _ := startManager(t)
	c := m.Client()
	q, err := syncmgr.CreateQueue[int](ctx, c, 5)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.PutMany(ctx, []int{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	ev, _ := syncmgr.CreateEvent(ctx, c)
	if err := ev.Set(ctx); err != nil {
		t.Fatal(err)
	}
	b, _ := syncmgr.CreateBarrier(ctx, c, 3)
	s, _ := syncmgr.CreateBoundedSemaphore(ctx, c, 2)
	if err := s.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	rl, _ := syncmgr.CreateRLock(ctx, c)
	for range 2 {
		if err := rl.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cond, _ := syncmgr.CreateConditionOwnLock(ctx, c)
	d, _ := syncmgr.CreateDict[string, int](ctx, c)
	d.Set(ctx, "a", 1)
	lst, _ := syncmgr.CreateList[int](ctx, c, []int{1, 2})
	ns, _ := syncmgr.CreateNamespace(ctx, c)
	ns.Set(ctx, "x", 1)
	v, _ := syncmgr.CreateValue[int](ctx, c, 42)
	set, _ := syncmgr.CreateSet[string](ctx, c, []string{"a"})
	arr, _ := syncmgr.CreateArray[int](ctx, c, []int{1, 2, 3})

	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[uint64]*mgr.ObjectState{}
	for _, o := range info.Objects {
		byID[o.ID] = o.State
	}
	sid := c.SessionID()
	checks := []struct {
		name  string
		id    uint64
		field string
		want  any
	}{
		{"Queue length", q.ObjectID(), "length", 3},
		{"Queue maxsize", q.ObjectID(), "maxsize", 5},
		{"Event flag", ev.ObjectID(), "set", true},
		{"Barrier parties", b.ObjectID(), "parties", 3},
		{"Barrier waiting", b.ObjectID(), "waiting", 0},
		{"BoundedSemaphore value", s.ObjectID(), "value", 1},
		{"BoundedSemaphore max", s.ObjectID(), "max", 2},
		{"RLock count", rl.ObjectID(), "count", 2},
		{"Condition waiting", cond.ObjectID(), "waiting", 0},
		{"Dict length", d.ObjectID(), "length", 1},
		{"List length", lst.ObjectID(), "length", 2},
		{"Namespace attributes", ns.ObjectID(), "attributes", 1},
		{"Value", v.ObjectID(), "value", "42"},
		{"Set length", set.ObjectID(), "length", 1},
		{"Array length", arr.ObjectID(), "length", 3},
	}
	for _, ck := range checks {
		st := byID[ck.id]
		if st == nil {
			t.Errorf("%s: no state", ck.name)
			continue
		}
		if got := st.Field(ck.field); !equalNumber(got, ck.want) {
			t.Errorf("%s: %s = %v (%T), want %v", ck.name, ck.field, got, got, ck.want)
		}
	}
	if st := byID[s.ObjectID()]; len(st.Holders) != 1 || st.Holders[0].Session != sid || st.Holders[0].PID == 0 {
		t.Errorf("BoundedSemaphore holders %+v, want this session with its pid", st.Holders)
	}
	if st := byID[rl.ObjectID()]; len(st.Holders) != 1 || st.Holders[0].Count != 2 {
		t.Errorf("RLock holders %+v, want one with count 2", st.Holders)
	}
}

// equalNumber compares numbers whatever integer type the codec gave them.
func equalNumber(got, want any) bool {
	toInt := func(x any) (int64, bool) {
		switch x := x.(type) {
		case int:
			return int64(x), true
		case int64:
			return x, true
		case uint64:
			return int64(x), true
		}
		return 0, false
	}
	g, ok1 := toInt(got)
	w, ok2 := toInt(want)
	if ok1 && ok2 {
		return g == w
	}
	return got == want
}
