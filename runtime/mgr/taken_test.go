package mgr_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// takenStore's Add registers an Undo and an OnTaken that report on undone and taken.
// Add(0) returns at once; Add(1) returns once its caller cancels; Add(2) once its caller
// cancels and release closes; Add(3) once release closes, whatever its ctx (done before
// a Cancel could reach it); Add(-1) fails with its ctx's error once its caller cancels
// (a wait, as a Queue.Get on an empty queue).
type takenStore struct {
	*sharedStore
	undone, taken chan int64
	entered       chan struct{}
	release       chan struct{}
}

func newTakenStore() takenStore {
	return takenStore{sharedStore: &sharedStore{n: map[string]*int64{"hits": new(int64)}},
		undone: make(chan int64, 4), taken: make(chan int64, 4), entered: make(chan struct{}, 4), release: make(chan struct{})}
}

// connectHits connects with opts (the backend tests' key set) and looks up the counter
// "hits"; the client closes when the test ends.
func connectHits(t *testing.T, ctx context.Context, opts mgr.Options) (*mgr.Client, *mgr.Handle) {
	t.Helper()
	opts.AuthKey = []byte("backend-test-key")
	c, err := mgr.Connect(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h, err := c.Lookup(ctx, "hits")
	if err != nil {
		t.Fatal(err)
	}
	return c, h
}

func (s takenStore) Type(typeID string) *mgr.TypeDesc {
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
		if x != 0 {
			s.entered <- struct{}{}
		}
		switch {
		case x < 0:
			<-ctx.Done()
			return ctx.Err()
		case x == 3:
			<-s.release
		case x > 0:
			<-ctx.Done()
			if x > 1 {
				<-s.release
			}
		}
		res.Int64(x)
		return nil
	}
	return d
}

// OnTaken runs once the caller has the outcome — a plain reply, or a reserved one the
// client accepted — and never when the outcome is undone (a reserved reply refused).
func TestOnTaken(t *testing.T) {
	store := newTakenStore()
	a := serveAddrWithBackend(t, store)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	add := func(grace time.Duration, x int64, cancelled bool) (int64, error) {
		_, h := connectHits(t, ctx, mgr.Options{Address: a, CancelGrace: grace})
		cctx, ccancel := context.WithCancel(ctx)
		defer ccancel()
		if cancelled {
			go func() {
				<-store.entered
				ccancel()
			}()
		}
		p := mgr.MakeProxyBase(h)
		call := p.Begin(mAdd)
		call.Args.Int64(x)
		res, err := call.Do(cctx)
		if err != nil {
			return 0, err
		}
		n := res.Int64()
		return n, call.End()
	}
	next := func(ch chan int64, what string) int64 {
		t.Helper()
		select {
		case x := <-ch:
			return x
		case <-ctx.Done():
			t.Fatalf("no %s", what)
			return 0
		}
	}
	none := func() {
		t.Helper()
		select {
		case x := <-store.taken:
			t.Fatalf("OnTaken ran for Add(%d)", x)
		case x := <-store.undone:
			t.Fatalf("Undo ran for Add(%d)", x)
		default:
		}
	}

	// A plain reply: taken once written.
	if n, err := add(time.Second, 0, false); n != 0 || err != nil {
		t.Fatalf("Add(0) = %d, %v", n, err)
	}
	if x := next(store.taken, "OnTaken for a plain reply"); x != 0 {
		t.Fatalf("OnTaken ran for Add(%d)", x)
	}
	none()

	// Cancelled, but the reply comes within the grace: reserved, accepted, taken.
	if n, err := add(10*time.Second, 1, true); n != 1 || err != nil {
		t.Fatalf("Add(1), cancelled, replying within the grace = %d, %v; want 1, nil", n, err)
	}
	if x := next(store.taken, "OnTaken for an accepted reply"); x != 1 {
		t.Fatalf("OnTaken ran for Add(%d)", x)
	}
	none()

	// Cancelled, the caller gone before the reply: reserved, refused, undone.
	if _, err := add(10*time.Millisecond, 2, true); !errors.Is(err, context.Canceled) {
		t.Fatalf("Add(2), cancelled, replying after the grace: %v; want context.Canceled", err)
	}
	close(store.release)
	if x := next(store.undone, "Undo for a refused reply"); x != 2 {
		t.Fatalf("Undo ran for Add(%d)", x)
	}
	none()
}
