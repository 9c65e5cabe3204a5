package mgr_test

import (
	"context"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/testnet"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// A call the manager read before the connection broke, whose ctx ends while the client
// resumes, waits for the resume: its outcome is among the replayed replies. Given up on
// at the end of its cancel grace instead (a version of this change did so), a finished
// call's outcome was the manager's (OnTaken) while its caller heard "cancelled", and a
// waiting one never got its Cancel. The grace is a nanosecond, so such a give-up would
// come long before the resume.
func TestSentCallWaitsForTheResume(t *testing.T) {
	for _, tc := range []struct {
		name string
		x    int64
	}{{"finished", 3}, {"waiting", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			store := newTakenStore()
			a := serveAddrWithOptions(t, store, mgr.Options{ResumeWindow: time.Hour})
			link := testnet.NewCutLink(t, "tcp", a.Addr)
			ctx := testCtx(t)
			var states stateLog
			_, h := connectHits(t, ctx, mgr.Options{Address: mgr.Address{Network: "tcp", Addr: link.Addr()},
				ResumeWindow: time.Hour, CancelGrace: time.Nanosecond, OnState: states.record})
			p := mgr.MakeProxyBase(h)
			cctx, ccancel := context.WithCancel(ctx)
			errc := make(chan error, 1)
			go func() {
				call := p.Begin(mAdd)
				call.Args.Int64(tc.x)
				_, err := call.Do(cctx)
				errc <- err
			}()
			<-store.entered // the manager read the call and runs it
			link.SetDown(true)
			link.Cut()
			waitUntil(t, "the client to see the break", 20*time.Second, func() bool { return states.has(mgr.StateDisconnected) })
			ccancel() // its Cancel goes into the dead connection
			if tc.x > 0 {
				close(store.release)
				if y := <-store.taken; y != tc.x { // its reply is written, kept for the resume
					t.Fatalf("taken %d", y)
				}
			}
			link.SetDown(false)
			waitUntil(t, "the session to resume", 20*time.Second, func() bool { return states.has(mgr.StateResumed) })
			var callErr error
			select {
			case callErr = <-errc:
			case <-time.After(30 * time.Second):
				t.Fatal("the call did not end 30 s after the resume")
			}
			if tc.x > 0 {
				if callErr != nil {
					t.Fatalf("Add(%d) finished and its outcome was taken, but its caller got %v", tc.x, callErr)
				}
				return
			}
			if callErr == nil {
				t.Fatalf("the waiting Add(%d) succeeded after its ctx ended", tc.x)
			}
			select {
			case y := <-store.undone: // the Cancel reached it after the resume
				if y != tc.x {
					t.Fatalf("undone %d", y)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("the waiting Add(%d) was not ended 30 s after the resume: its Cancel never reached the manager", tc.x)
			}
		})
	}
}
