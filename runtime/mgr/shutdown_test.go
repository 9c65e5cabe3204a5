package mgr_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// A child-process manager drains a running call (one that does not say Blocking) until
// the Shutdown's ctx deadline, not for its shorter DrainTimeout: the call ends by its own
// deadline, long after the DrainTimeout and long before Shutdown's.
func TestShutdownDrainsUntilTheCallersDeadline(t *testing.T) {
	ctx := testCtx(t)
	m, err := mgr.Start(ctx, mgr.Options{DrainTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	shutdownDrainsCall(ctx, t, m)
}

// The same with the manager in this process, whose Shutdown returns once the manager
// has written its last frames: the client must still read them — the drained call's
// reply above all — before the Manager fails what is left. It failed the call with
// ErrShutdown, the reply unread, 1 run in 30 with the manager as a child process and
// most runs in this process (no polling: the reader is parked when Shutdown returns).
func TestShutdownDrainsInProcess(t *testing.T) {
	ctx := testCtx(t)
	m, err := mgr.StartInProcess(mgr.Options{DrainTimeout: time.Millisecond, SpinWait: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	shutdownDrainsCall(ctx, t, m)
}

// shutdownDrainsCall runs a call that waits for its deadline and shuts m down while it
// runs, with a later deadline: the call ends by its own deadline, not by the shutdown.
func shutdownDrainsCall(ctx context.Context, t *testing.T, m *mgr.Manager) {
	t.Helper()
	p, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	blocked := make(chan error, 1)
	go func() {
		bctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		_, err := p.Block(bctx)
		blocked <- err
	}()
	if err := p.call0(ctx, mBlockStarted); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := m.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	err = <-blocked
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, mgr.ErrShutdown) {
		t.Fatalf("the running call ended with %v; want its own deadline (drained), not the shutdown", err)
	}
}
