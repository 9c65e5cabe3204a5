package mgr_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// A call made while the client resumes ends when its ctx does, not when the resume
// window does (an hour here): it was never sent. When the resume then succeeds, the
// call does not run, and its request ID still reaches the manager: the session's record
// of the IDs it has read keeps no hole, which would fail the session once maxSeenAhead
// (16,384) more calls came.
func TestCallDuringResumeEndsWithItsContext(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{ResumeWindow: time.Hour})
	var states stateLog
	c, p, link := throughLink(t, ctx, m, mgr.Options{ResumeWindow: time.Hour, OnState: states.record})
	if _, err := p.Add(ctx, 0); err != nil { // the client learns Add's index now
		t.Fatal(err)
	}
	link.SetDown(true)
	link.Cut()
	waitUntil(t, "the client to see the break", 20*time.Second, func() bool { return states.has(mgr.StateDisconnected) })

	done := make(chan error, 1)
	go func() {
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err := p.Add(cctx, 1)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("call during the resume: %v, want context.DeadlineExceeded", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a call during the resume did not end 30 s after its ctx did (it waits for the resume window)")
	}

	link.SetDown(false)
	waitUntil(t, "the session to resume", 20*time.Second, func() bool { return states.has(mgr.StateResumed) })
	if n, err := p.Get(ctx); err != nil || n != 0 {
		t.Fatalf("after the resume, the counter is %d (%v); want 0: the call given up on must not run", n, err)
	}
	// More calls than the manager lets a hole in the request IDs hold back.
	const goroutines, each = 16, 1100
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				if _, err := p.Add(ctx, 1); err != nil {
					t.Errorf("Add after the resume: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n, err := p.Get(ctx); err != nil || n != goroutines*each {
		t.Fatalf("counter = %d (%v), want %d", n, err, goroutines*each)
	}
	if c.SessionID() != m.Server().Info().Sessions[len(m.Server().Info().Sessions)-1].ID {
		t.Fatalf("the client's session changed")
	}
}
