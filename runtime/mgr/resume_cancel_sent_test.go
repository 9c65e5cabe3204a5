package mgr_test

import (
	"context"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/testnet"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// gatedStore's Add registers an Undo and an OnTaken, then — for x > 0 — waits for
// release, ignoring its ctx (done before a Cancel could reach it), or — for x < 0 —
// waits for its ctx to end, as a Queue.Get on an empty queue does.
type gatedStore struct {
	*sharedStore
	undone, taken chan int64
	entered       chan struct{}
	release       chan struct{}
}

func (s gatedStore) Type(typeID string) *mgr.TypeDesc {
	d := s.sharedStore.Type(typeID)
	if d == nil {
		return nil
	}
	d.Methods[mAdd].Call = func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
		x := args.Int64()
		if err := args.Done(); err != nil {
			return err
		}
		mgr.Undo(ctx, func() { s.undone <- x })
		mgr.OnTaken(ctx, func() { s.taken <- x })
		s.entered <- struct{}{}
		if x < 0 {
			<-ctx.Done()
			return ctx.Err()
		}
		<-s.release
		res.Int64(x)
		return nil
	}
	return d
}

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
	}{{"finished", 7}, {"waiting", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			store := gatedStore{sharedStore: &sharedStore{n: map[string]*int64{"hits": new(int64)}},
				undone: make(chan int64, 4), taken: make(chan int64, 4), entered: make(chan struct{}, 4), release: make(chan struct{})}
			srv, err := mgr.NewServer(mgr.Options{AuthKey: []byte("backend-test-key"), ResumeWindow: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.SetBackend(store); err != nil {
				t.Fatal(err)
			}
			ln, err := mgr.Listen(mgr.Address{Network: "tcp", Addr: "127.0.0.1:0"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve(ln)
			t.Cleanup(func() { srv.Shutdown(context.Background()) })
			link := testnet.NewCutLink(t, "tcp", mgr.ListenerAddress(ln).Addr)
			ctx := testCtx(t)
			var states stateLog
			c, err := mgr.Connect(ctx, mgr.Options{Address: mgr.Address{Network: "tcp", Addr: link.Addr()}, AuthKey: []byte("backend-test-key"),
				ResumeWindow: time.Hour, CancelGrace: time.Nanosecond, OnState: states.record})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			h, err := c.Lookup(ctx, "hits")
			if err != nil {
				t.Fatal(err)
			}
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
