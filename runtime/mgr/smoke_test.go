package mgr_test

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

func TestMain(m *testing.M) {
	mgr.RunChild()
	if role := os.Getenv(helperRoleEnv); role != "" {
		os.Exit(runHelper(role))
	}
	os.Exit(m.Run())
}

// testCtx returns a context with a generous deadline, so a hang fails loudly instead of
// stalling the suite.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func startInProcess(t *testing.T, opts mgr.Options) *mgr.Manager {
	t.Helper()
	m, err := mgr.StartInProcess(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	return m
}

func TestCallsAndErrors(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	c := m.Client()
	p, err := createCounter(ctx, c, 5)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.Add(ctx, 3); err != nil || got != 8 {
		t.Fatalf("Add = %d, %v; want 8", got, err)
	}
	// A method's sentinel error keeps its identity.
	if _, err := p.Add(ctx, 1<<41); !errors.Is(err, errTooBig) {
		t.Fatalf("Add too big: %v, want errTooBig", err)
	}
	// A panic comes back with the manager's stack, and the manager keeps serving.
	err = p.call0(ctx, mPanic)
	var re *mgr.RemoteError
	if !errors.Is(err, mgr.ErrPanic) || !errors.As(err, &re) || !strings.Contains(re.Stack, "goroutine") {
		t.Fatalf("panic: %v (stack %q)", err, re)
	}
	if got, err := p.Get(ctx); err != nil || got != 8 {
		t.Fatalf("Get after panic = %d, %v", got, err)
	}
	// A method index outside the table is unreachable.
	if err := p.call0(ctx, 99); !errors.Is(err, mgr.ErrUnknownMethod) {
		t.Fatalf("method 99: %v, want ErrUnknownMethod", err)
	}
	if n := m.Server().NumObjects(); n != 1 {
		t.Fatalf("objects = %d, want 1", n)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Get(ctx); !errors.Is(err, mgr.ErrReleased) {
		t.Fatalf("call after Release: %v, want ErrReleased", err)
	}
	// Close does not wait for the manager: its release goes with the client's next call,
	// which the manager reads after it.
	if _, err := m.Client().Info(ctx); err != nil {
		t.Fatal(err)
	}
	if n := m.Server().NumObjects(); n != 0 {
		t.Fatalf("objects after release = %d, want 0", n)
	}
}

func TestConcurrentCallsOneProxy(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	p, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, calls = 64, 200
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for range goroutines {
		wg.Go(func() {
			for range calls {
				if _, err := p.Add(ctx, 1); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got, _ := p.Get(ctx); got != goroutines*calls {
		t.Fatalf("count = %d, want %d", got, goroutines*calls)
	}
}

func TestBlockingCallDoesNotStallOthersAndCancelReachesServer(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	p, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	bctx, cancel := context.WithCancel(ctx)
	blockErr := make(chan error, 1)
	go func() {
		_, err := p.Block(bctx)
		blockErr <- err
	}()
	if err := p.call0(ctx, mBlockStarted); err != nil {
		t.Fatal(err)
	}
	// The blocked call holds nothing up.
	for i := range 100 {
		if _, err := p.Add(ctx, 1); err != nil {
			t.Fatalf("call %d while another blocks: %v", i, err)
		}
	}
	cancel()
	if err := <-blockErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
	// The connection is still in step after the cancellation.
	if got, err := p.Get(ctx); err != nil || got != 100 {
		t.Fatalf("Get after cancel = %d, %v", got, err)
	}
}

func TestDroppedProxyIsReleasedByTheCleanupBackstop(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	func() {
		p, err := createCounter(ctx, m.Client(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Add(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}() // p is unreachable from here on, never released
	waitUntil(t, "the dropped proxy's object to go", 20*time.Second, func() bool {
		runtime.GC()
		return m.Server().NumObjects() == 0
	})
}

func TestCallByName(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	p, err := createCounter(ctx, m.Client(), 1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.BeginMethod("Add")
	if err != nil {
		t.Fatal(err)
	}
	c.Args.Int64(2)
	res, err := c.Do(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Int64(); got != 3 {
		t.Fatalf("Add by name = %d", got)
	}
	if err := c.End(); err != nil {
		t.Fatal(err)
	}
	// The manager is asked by name (its version of the type may have more methods).
	c, err = p.BeginMethod("SetX")
	if err == nil {
		_, err = c.Do(ctx)
	}
	if !errors.Is(err, mgr.ErrUnknownMethod) {
		t.Fatalf("unexposed method by name: %v", err)
	}
}
