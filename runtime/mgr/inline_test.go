package mgr_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// An Inline method runs in the goroutine that reads its session's calls (reader.go). One
// that waits must not stop the session: the manager hands reading to a new goroutine,
// so a later call of the same session — here the one that lets the waiter go — is still
// read and run.
func TestInlineMethodThatWaitsDoesNotStallItsSession(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := mgr.Start(ctx, mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(ctx)
	p, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	gateDone := make(chan error, 1)
	go func() { gateDone <- p.call0(ctx, mGate) }()
	// GateEntered (not Inline, so it needs the reader, which Gate holds) and Open are
	// read only after the hand-over.
	if err := p.call0(ctx, mGateEntered); err != nil {
		t.Fatalf("GateEntered while Gate waits: %v", err)
	}
	if n, err := p.Add(ctx, 5); err != nil || n != 5 {
		t.Fatalf("Add while Gate waits: %d, %v", n, err)
	}
	if err := p.call0(ctx, mOpen); err != nil {
		t.Fatalf("Open: %v", err)
	}
	select {
	case err := <-gateDone:
		if err != nil {
			t.Fatalf("Gate: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Gate did not return after Open")
	}
	// The session still works, and reading is back to one goroutine.
	if n, err := p.Get(ctx); err != nil || n != 5 {
		t.Fatalf("Get after the hand-over: %d, %v", n, err)
	}
}

// Pipelined Inline calls are answered with buffered replies flushed when the reader runs
// out of requests: every call must still get its own, correct reply.
func TestInlineCallsPipelined(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	m, err := mgr.Start(ctx, mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(ctx)
	p, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, calls = 32, 300
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for range goroutines {
		wg.Go(func() {
			last := int64(0)
			for range calls {
				n, err := p.Add(ctx, 1)
				if err != nil {
					errs <- err
					return
				}
				if n <= last {
					errs <- &mgr.RemoteError{Msg: "counter went backwards"}
					return
				}
				last = n
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n, err := p.Get(ctx); err != nil || n != goroutines*calls {
		t.Fatalf("Get = %d, %v; want %d", n, err, goroutines*calls)
	}
}
