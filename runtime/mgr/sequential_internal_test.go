package mgr

import (
	"context"
	"sync"
	"testing"
	"time"
)

// spinCalls makes n Spin calls on p, one at a time, and returns how many of them ran
// outside the reader (spinner.outside grew by).
func spinCalls(t *testing.T, m *Manager, p *ProxyBase, n int) int {
	t.Helper()
	sp := m.Server().lookup(p.h.id).value.(*spinner)
	sp.mu.Lock()
	before := sp.outside
	sp.mu.Unlock()
	for range n {
		if err := call0(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.outside - before
}

// A slow Inline method's calls (300 µs each, above inlineSlow) still run in the reader
// while its session makes one call at a time: nobody waits behind them, and a hand-off
// to a worker would only add its wake-ups to every call.
func TestSlowInlineRunsInlineWhenSequential(t *testing.T) {
	_, m, p, obj := newObjectT(t, spinnerTypeID)
	spinCalls(t, m, p, 10) // the first runs inline (the average starts at 0), the rest make it slow
	if obj.desc.quick(0) {
		t.Fatalf("setup: Spin counts as quick: average hold %s", time.Duration(obj.desc.hold[0].Load()))
	}
	if out := spinCalls(t, m, p, 30); out != 0 {
		t.Fatalf("%d of 30 sequential calls of a slow Inline method ran outside the reader; want 0", out)
	}
}

// gate's Pass is an Inline method (no context): its first call waits in the method until
// the test opens the gate; every call records whether it ran in the reader.
type gate struct {
	entered, open chan struct{}

	mu      sync.Mutex
	inline  <-chan struct{} // Done of the first call's ctx: the session's, as it ran inline
	outside int             // later calls with a ctx of their own: run by a worker
	calls   int
}

const gateTypeID = "mgr.test.gate"

func init() {
	Register(&TypeDesc{
		TypeID:    gateTypeID,
		InlineNew: true,
		New: func(context.Context, *Decoder) (any, error) {
			return &gate{entered: make(chan struct{}), open: make(chan struct{})}, nil
		},
		Methods: []Method{{Name: "Pass", Inline: true, Call: func(ctx context.Context, obj any, args *Decoder, res *Encoder) error {
			g := obj.(*gate)
			g.mu.Lock()
			g.calls++
			first := g.calls == 1
			if first {
				g.inline = ctx.Done()
			} else if ctx.Done() != g.inline {
				g.outside++
			}
			g.mu.Unlock()
			if first {
				close(g.entered)
				<-g.open
			}
			return args.Done()
		}}},
	})
}

// A call that comes while a slow call runs inline (its client did not wait for that
// reply) makes the session concurrent: it runs in a worker, not inline after the slow
// one. Without that check it would look alone when read — the slow call has returned,
// nothing else is buffered — and two goroutines of one client would take turns in the
// reader, every call waiting for the other's.
func TestSlowInlineLeavesTheReaderWhenACallQueued(t *testing.T) {
	ctx, m, p, obj := newObjectT(t, gateTypeID)
	obj.desc.hold[0].Store(int64(time.Millisecond)) // slow: inline only while sequential
	g := obj.value.(*gate)
	pass := func() error { return call0(ctx, p) }
	first := make(chan error, 1)
	go func() { first <- pass() }()
	select {
	case <-g.entered:
	case <-ctx.Done():
		t.Fatal("the first call did not start")
	}
	sess := onlySession(m)
	rd := sess.reader.Load()
	if rd.src == nil {
		t.Skip("the connection has no raw reader here: slow calls never run inline")
	}
	second := make(chan error, 1)
	go func() { second <- pass() }()
	waitUntil(t, "the second call to reach the manager's socket", rd.src.pending)
	close(g.open)
	for _, ch := range []chan error{first, second} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.outside != 1 {
		t.Fatalf("the call that came while a slow one ran inline ran in the reader after it; want a worker")
	}
	if !sess.concurrent.Load() {
		t.Fatal("the session is not marked concurrent")
	}
}

// onlySession returns the session of m's own client, its only one.
func onlySession(m *Manager) *session {
	s := m.Server()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sess := range s.sessions {
		return sess
	}
	return nil
}

// A session seen making calls side by side goes back to running slow calls inline only
// after idleToSequential calls in a row came while none of its calls ran: one goroutine's
// call landing in another's gap between calls is not enough (it would put the next call
// of the other goroutine behind a slow inline one).
func TestConcurrentSessionTurnsSequentialSlowly(t *testing.T) {
	_, m, p, obj := newObjectT(t, spinnerTypeID)
	spinCalls(t, m, p, 1) // the first call, inline, is the spinner's reference
	sess := onlySession(m)
	if sess.reader.Load().src == nil {
		t.Skip("the connection has no raw reader here: slow calls never run inline")
	}
	obj.desc.hold[0].Store(int64(time.Millisecond))
	sess.makeConcurrent()
	if out := spinCalls(t, m, p, idleToSequential-1); out != idleToSequential-1 {
		t.Fatalf("%d of %d calls of a concurrent session ran outside the reader; want all", out, idleToSequential-1)
	}
	if !sess.concurrent.Load() {
		t.Fatalf("the session turned sequential after %d idle calls; want %d", idleToSequential-1, idleToSequential)
	}
	spinCalls(t, m, p, 1)
	if sess.concurrent.Load() {
		t.Fatalf("the session is still concurrent after %d idle calls", idleToSequential)
	}
	if out := spinCalls(t, m, p, 5); out != 0 {
		t.Fatalf("%d of 5 calls ran outside the reader after the session turned sequential; want 0", out)
	}
}

// A call read while another call of the session runs makes the session concurrent.
func TestCallWhileAnotherRunsMakesTheSessionConcurrent(t *testing.T) {
	ctx, m, p, obj := newObjectT(t, gateTypeID)
	g := obj.value.(*gate)
	sess := onlySession(m)
	if sess.reader.Load().src == nil {
		t.Skip("the connection has no raw reader here: slow calls never run inline")
	}
	// The first call, slow in a concurrent session, waits at the gate in a worker.
	sess.makeConcurrent()
	pass := func() error { return call0(ctx, p) }
	obj.desc.hold[0].Store(int64(time.Millisecond))
	first := make(chan error, 1)
	go func() { first <- pass() }()
	<-g.entered
	sess.concurrent.Store(false)   // as if it had turned sequential meanwhile
	if err := pass(); err != nil { // read while the first runs
		t.Fatal(err)
	}
	if !sess.concurrent.Load() {
		t.Fatal("a call read while another ran left the session sequential")
	}
	close(g.open)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

// newObjectT starts an in-process manager and creates an object of typeID there.
func newObjectT(t *testing.T, typeID string) (context.Context, *Manager, *ProxyBase, *object) {
	t.Helper()
	ctx, m := startInProcessT(t)
	h, err := m.Client().Create(ctx, typeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := MakeProxyBase(h)
	return ctx, m, &p, m.Server().lookup(h.id)
}

// call0 calls p's method 0, which takes and returns nothing.
func call0(ctx context.Context, p *ProxyBase) error {
	c := p.Begin(0)
	if _, err := c.Do(ctx); err != nil {
		return err
	}
	return c.End()
}
