package syncmgr_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

func init() {
	// get-one: say so on the ready Event, then wait in Queue.Get; the Get's error is the
	// worker's.
	mgr.RegisterWorker("get-one", func(ctx context.Context, w *mgr.WorkerEnv) error {
		q, err := mgr.AttachArg(ctx, w, 0, syncmgr.AttachQueue[int])
		if err != nil {
			return err
		}
		ready, err := mgr.AttachArg(ctx, w, 1, syncmgr.AttachEvent)
		if err != nil {
			return err
		}
		if err := ready.Set(ctx); err != nil {
			return err
		}
		_, err = q.Get(ctx)
		return err
	})
}

// A worker waits in Queue.Get when the manager shuts down with a drain far longer than
// the test: the wait has nothing to drain, so it ends at once with ErrShutdown (said
// once), Shutdown returns, and everything after it — calls through any client or proxy,
// Spawn — fails with ErrShutdown.
func TestShutdownEndsWaitsAtOnce(t *testing.T) {
	ctx := testCtx(t)
	m, err := syncmgr.Start(ctx, mgr.Options{DrainTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	other, err := syncmgr.Connect(ctx, m.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	q, err := syncmgr.CreateQueue[int](ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	ready, err := syncmgr.CreateEvent(ctx, m.Client())
	if err != nil {
		t.Fatal(err)
	}
	ev, err := syncmgr.CreateEvent(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Spawn(ctx, "get-one", q, ready)
	if err != nil {
		t.Fatal(err)
	}
	if err := ready.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// With no deadline, the manager would drain for its DrainTimeout, an hour.
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	_, err = p.Wait(ctx)
	if !errors.Is(err, mgr.ErrShutdown) {
		t.Fatalf("the waiting worker ended with %v, want ErrShutdown", err)
	}
	t.Logf("the worker: %v", err)
	if msg := err.Error(); strings.Count(msg, "shut down") != 1 {
		t.Errorf("the worker's error says it twice: %q", msg)
	}
	if _, err := q.Qsize(ctx); !errors.Is(err, mgr.ErrShutdown) {
		t.Errorf("call through the manager's own client after Shutdown: %v, want ErrShutdown", err)
	}
	if err := ev.Set(ctx); !errors.Is(err, mgr.ErrShutdown) {
		t.Errorf("call through another client after Shutdown: %v, want ErrShutdown", err)
	}
	if _, err := m.Spawn(ctx, "get-one", q, ready); !errors.Is(err, mgr.ErrShutdown) {
		t.Errorf("Spawn after Shutdown: %v, want ErrShutdown", err)
	}
	if _, err := syncmgr.CreateQueue[int](ctx, m.Client(), 0); !errors.Is(err, mgr.ErrShutdown) {
		t.Errorf("Create after Shutdown: %v, want ErrShutdown", err)
	}
}
