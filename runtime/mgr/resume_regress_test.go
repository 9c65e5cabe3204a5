package mgr_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Regressions found by review of session resume (each failed before its fix).

type revLog struct {
	mu  sync.Mutex
	msg []string
}

func (l *revLog) logf(f string, a ...any) {
	l.mu.Lock()
	l.msg = append(l.msg, time.Now().Format("15:04:05.000000")+" "+fmt.Sprintf(f, a...))
	l.mu.Unlock()
}

func TestResumeRegressionResumeRefused(t *testing.T) {
	ctx := testCtx(t)
	var logs revLog
	m := startInProcess(t, mgr.Options{Logf: logs.logf})
	_, p, link := throughLink(t, ctx, m, mgr.Options{Logf: logs.logf})
	var calls atomic.Int64
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				link.Cut()
			}
		}
	}()
	var wg sync.WaitGroup
	var failed atomic.Bool
	for range 8 {
		wg.Go(func() {
			for link.Cuts() < 300 && !failed.Load() {
				if _, err := p.Add(ctx, 1); err != nil {
					failed.Store(true)
					t.Errorf("Add: %v", err)
					return
				}
				calls.Add(1)
			}
		})
	}
	wg.Wait()
	close(stop)
	if failed.Load() {
		logs.mu.Lock()
		for _, s := range logs.msg[max(0, len(logs.msg)-30):] {
			t.Log(s)
		}
		logs.mu.Unlock()
		return
	}
	n, err := p.Get(context.Background())
	if err != nil || n != calls.Load() {
		t.Fatalf("n=%d calls=%d err=%v", n, calls.Load(), err)
	}
}

// twoRuns connects a client through a link to one manager and makes a counter there;
// restart moves the link to a second manager, as a manager restarted on the same address
// would look to the client, cuts the connection, and returns a counter made in the
// client's new session.
func twoRuns(t *testing.T, ctx context.Context) (c *mgr.Client, p *counterProxy, restart func(start int64) *counterProxy) {
	a := startInProcess(t, mgr.Options{})
	c, p, link := throughLink(t, ctx, a, mgr.Options{})
	return c, p, func(start int64) *counterProxy {
		b := startInProcess(t, mgr.Options{AuthKey: a.AuthKey()})
		link.Retarget(b.Address().Network, b.Address().Addr)
		link.Cut()
		var q *counterProxy
		waitUntil(t, "a new session with the second manager", 20*time.Second, func() bool {
			var err error
			q, err = createCounter(ctx, c, start)
			return err == nil
		})
		return q
	}
}

// After a manager restart the client keeps its request-ID counter; the new session's
// seen-set never gets IDs 1..k, so everything goes into `above` and after maxSeenAhead
// calls the manager ends the session with a protocol error.
func TestResumeRegressionRestartIDGap(t *testing.T) {
	ctx := testCtx(t)
	c, p, restart := twoRuns(t, ctx)
	for range 10 {
		if _, err := p.Add(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	q := restart(0)
	t.Logf("session after restart: %d", c.SessionID())
	for i := range 20000 {
		if _, err := q.Add(ctx, 1); err != nil {
			t.Fatalf("call %d after the restart: %v", i, err)
		}
	}
	runtime.KeepAlive(p)
}

// Closing a proxy of the killed run releases the new run's object with the same ID.
func TestResumeRegressionRestartStaleClose(t *testing.T) {
	ctx := testCtx(t)
	_, p, restart := twoRuns(t, ctx)
	q := restart(100)
	p.Close(ctx) // a stale proxy: should be a no-op
	if n, err := q.Add(ctx, 1); err != nil {
		t.Fatalf("new proxy after closing a stale one: %d, %v", n, err)
	}
}

// A call sent into a dead link and cancelled during the break: the resume resends the call
// but not its Cancel, so the method runs uncancelled and the caller waits forever.
func TestResumeRegressionCancelLostAcrossResume(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	c, p, link := throughLink(t, ctx, m, mgr.Options{})
	if _, err := p.Add(ctx, 1); err != nil { // learn the type's method table first
		t.Fatal(err)
	}
	link.SetDown(true)
	link.Cut()
	waitUntil(t, "the client to see the break", 20*time.Second, func() bool { return c.State() == mgr.StateDisconnected })
	cctx, cancel := context.WithCancel(ctx)
	res := make(chan error, 1)
	go func() { _, err := p.Block(cctx); res <- err }()
	cancel() // the call and its Cancel go into the dead link, or the call not at all
	link.SetDown(false)
	// Block waits for its ctx: it returns only if its Cancel reached the manager after
	// the resume (testCtx bounds the wait).
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("Block cancelled during the break: %v", err)
	}
}
