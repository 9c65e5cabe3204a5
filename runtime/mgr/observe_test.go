package mgr_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// recordHandler is a slog.Handler that hands every record, with the attributes added by
// With, to a channel, so tests wait for the record they expect.
type recordHandler struct {
	ch    chan slog.Record
	attrs []slog.Attr
}

func newRecordHandler() *recordHandler { return &recordHandler{ch: make(chan slog.Record, 256)} }

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(h.attrs...)
	select {
	case h.ch <- r:
	default: // a test that stopped reading loses nothing it waits for
	}
	return nil
}
func (h *recordHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &recordHandler{ch: h.ch, attrs: append(h.attrs[:len(h.attrs):len(h.attrs)], as...)}
}
func (h *recordHandler) WithGroup(string) slog.Handler { return h }

// attrsOf returns a record's attributes by key.
func attrsOf(r slog.Record) map[string]slog.Value {
	m := map[string]slog.Value{}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value
		return true
	})
	return m
}

// waitRecord waits for a record whose message contains msg and for which ok holds.
func (h *recordHandler) waitRecord(t *testing.T, ctx context.Context, msg string, ok func(map[string]slog.Value) bool) (slog.Record, map[string]slog.Value) {
	t.Helper()
	for {
		select {
		case r := <-h.ch:
			if a := attrsOf(r); strings.Contains(r.Message, msg) && (ok == nil || ok(a)) {
				return r, a
			}
		case <-ctx.Done():
			t.Fatalf("no log record %q arrived", msg)
		}
	}
}

// TestLoggerGetsChildManagerRecords: a child-process manager's records reach the
// parent's Logger with their level and attributes, and the child's pid.
func TestLoggerGetsChildManagerRecords(t *testing.T) {
	ctx := testCtx(t)
	h := newRecordHandler()
	m, err := mgr.Start(ctx, mgr.Options{Logger: slog.New(h)})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(ctx)
	if err := sendGarbage(m.Address()); err != nil {
		t.Fatal(err)
	}
	r, a := h.waitRecord(t, ctx, "rejected connection", nil)
	if r.Level != slog.LevelWarn {
		t.Errorf("level %v, want WARN", r.Level)
	}
	if a[mgr.LogPeer].String() == "" || a[mgr.LogErr].String() == "" {
		t.Errorf("attributes %v lack peer or err", a)
	}
	if got := a["manager_pid"].Int64(); got != int64(m.PID()) {
		t.Errorf("manager_pid %d, want %d", got, m.PID())
	}
}

// TestLoggerSessionEndAndSlowCall: a session's end is logged with its pid and why, and
// with SlowCall set, both sides log slow calls with their type, object and method.
func TestLoggerSessionEndAndSlowCall(t *testing.T) {
	ctx := testCtx(t)
	h := newRecordHandler()
	opts := mgr.Options{Logger: slog.New(h), SlowCall: time.Nanosecond}
	m := startInProcess(t, opts)
	opts.Address, opts.AuthKey = m.Address(), m.AuthKey()
	c, err := mgr.Connect(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := createCounter(ctx, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Add(ctx, 1); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for len(seen) < 2 {
		_, a := h.waitRecord(t, ctx, "slow call", nil)
		side := a["side"].String()
		seen[side] = true
		if a[mgr.LogTypeID].String() != counterTypeID || a[mgr.LogMethod].String() != "Add" ||
			a[mgr.LogObject].Uint64() != p.ObjectID() || a[mgr.LogSession].Uint64() != c.SessionID() {
			t.Errorf("%s slow call attributes %v", side, a)
		}
	}
	sid := c.SessionID()
	c.Close()
	_, a := h.waitRecord(t, ctx, "session ended", func(a map[string]slog.Value) bool { return a[mgr.LogSession].Uint64() == sid })
	if a[mgr.LogPID].Int64() == 0 || a["reason"].String() == "" {
		t.Errorf("session end attributes %v", a)
	}
}

// TestLogfStillWorks: the deprecated Logf gets each record as one line with its
// attributes, the error among its arguments.
func TestLogfStillWorks(t *testing.T) {
	ctx := testCtx(t)
	lines := make(chan string, 16)
	m := startInProcess(t, mgr.Options{Logf: func(format string, args ...any) {
		select {
		case lines <- fmt.Sprintf(format, args...):
		default:
		}
	}})
	if err := sendGarbage(m.Address()); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case l := <-lines:
			if strings.HasPrefix(l, "mgr: rejected connection") && strings.Contains(l, " peer=") && strings.Contains(l, " err=") {
				return
			}
		case <-ctx.Done():
			t.Fatal("Logf got no rejection line")
		}
	}
}

// interceptLog records what interceptors saw.
type interceptLog struct {
	mu    sync.Mutex
	calls []mgr.CallInfo
	errs  []error
}

func (l *interceptLog) interceptor(setMeta []byte) mgr.Interceptor {
	return func(ctx context.Context, info *mgr.CallInfo, invoke func(context.Context) error) error {
		if setMeta != nil {
			info.Meta = setMeta
		}
		err := invoke(ctx)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.calls = append(l.calls, *info)
		l.errs = append(l.errs, err)
		return err
	}
}

func (l *interceptLog) last() (mgr.CallInfo, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[len(l.calls)-1], l.errs[len(l.errs)-1]
}

// TestInterceptorsBothSides: client and manager interceptors see each method call with
// its type, method, object, session and error, and metadata set on the client reaches
// the manager's.
func TestInterceptorsBothSides(t *testing.T) {
	ctx := testCtx(t)
	var cl, sl interceptLog
	m := startInProcess(t, mgr.Options{ServerInterceptors: []mgr.Interceptor{sl.interceptor(nil)}})
	c, err := mgr.Connect(ctx, mgr.Options{Address: m.Address(), AuthKey: m.AuthKey(),
		ClientInterceptors: []mgr.Interceptor{cl.interceptor([]byte("trace-42"))}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := createCounter(ctx, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := p.Add(ctx, 2); err != nil || n != 2 {
		t.Fatalf("Add = %d, %v", n, err)
	}
	want := mgr.CallInfo{TypeID: counterTypeID, Method: "Add", Object: p.ObjectID(), Session: c.SessionID(), Meta: []byte("trace-42")}
	for side, l := range map[string]*interceptLog{"client": &cl, "manager": &sl} {
		got, err := l.last()
		if err != nil || got.TypeID != want.TypeID || got.Method != want.Method || got.Object != want.Object ||
			got.Session != want.Session || string(got.Meta) != string(want.Meta) {
			t.Errorf("%s interceptor saw %+v, %v; want %+v", side, got, err, want)
		}
	}
	// The method's error reaches both.
	if _, err := p.Add(ctx, 1<<41); !errors.Is(err, errTooBig) {
		t.Fatalf("Add(too big) = %v", err)
	}
	for side, l := range map[string]*interceptLog{"client": &cl, "manager": &sl} {
		if _, err := l.last(); !errors.Is(err, errTooBig) {
			t.Errorf("%s interceptor saw error %v, want errTooBig", side, err)
		}
	}
}

// TestInterceptorInChildManager: a child-process manager gets its interceptors from its
// Initializer (Server.Intercept), and they see the metadata a client in another process
// sent. The child's interceptor answers with what it saw, as the call's error.
func TestInterceptorInChildManager(t *testing.T) {
	ctx := testCtx(t)
	if _, err := mgr.Start(ctx, mgr.Options{ServerInterceptors: []mgr.Interceptor{(&interceptLog{}).interceptor(nil)}}); err == nil {
		t.Fatal("Start took ServerInterceptors it cannot hand to the child")
	}
	m, err := mgr.Start(ctx, mgr.Options{Initializer: "mgr_test.echo-meta",
		ClientInterceptors: []mgr.Interceptor{(&interceptLog{}).interceptor([]byte("from-parent"))}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(ctx)
	p, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Add(ctx, 1)
	want := fmt.Sprintf("saw %s.Add #%d session %d meta %q", counterTypeID, p.ObjectID(), m.Client().SessionID(), "from-parent")
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Add = %v, want an error saying %q", err, want)
	}
}

func init() {
	mgr.RegisterInitializer("mgr_test.echo-meta", func(s *mgr.Server) error {
		s.Intercept(func(ctx context.Context, info *mgr.CallInfo, invoke func(context.Context) error) error {
			if err := invoke(ctx); err != nil {
				return err
			}
			return fmt.Errorf("saw %s.%s #%d session %d meta %q", info.TypeID, info.Method, info.Object, info.Session, info.Meta)
		})
		return nil
	})
}
