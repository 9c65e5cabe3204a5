package mgr_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/testnet"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// untakenStore is an adoptingStore whose Add reports its call's ID (mgr.CallID) and
// whose Get reports it too, then waits, ignoring its ctx, until hold closes; Adopt
// reports the untaken calls it is given.
type untakenStore struct {
	*sharedStore
	calls   chan uint64
	hold    chan struct{}
	untaken chan []uint64
}

func (s untakenStore) Type(typeID string) *mgr.TypeDesc {
	d := s.sharedStore.Type(typeID)
	if d == nil {
		return nil
	}
	add := d.Methods[mAdd].Call
	d.Methods[mAdd].Call = func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
		s.calls <- mgr.CallID(ctx)
		return add(ctx, obj, args, res)
	}
	d.Methods[mGet].Call = func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
		s.calls <- mgr.CallID(ctx)
		<-s.hold
		res.Int64(0)
		return nil
	}
	return d
}

func (s untakenStore) Adopt(ctx context.Context, oldKey string, untaken []uint64, c mgr.Caller) error {
	s.untaken <- slices.Clone(untaken)
	return nil
}

// An adopting manager learns which calls of the old session the client never took the
// reply of — one still waiting, one whose caller gave up — and not the ones it did take:
// what a backend needs to keep or undo what those calls handed out.
func TestFailoverAdoptionUntakenCalls(t *testing.T) {
	store := untakenStore{
		sharedStore: &sharedStore{n: map[string]*int64{"hits": new(int64)}},
		calls:       make(chan uint64, 8), hold: make(chan struct{}), untaken: make(chan []uint64, 1),
	}
	defer close(store.hold)
	a1, a2 := serveAddrWithBackend(t, store), serveAddrWithBackend(t, store)
	link := testnet.NewCutLink(t, "tcp", a1.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := mgr.Connect(ctx, mgr.Options{Address: mgr.Address{Network: "tcp", Addr: link.Addr()}, Failover: []mgr.Address{a2},
		AuthKey: []byte("backend-test-key"), CancelGrace: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h, err := c.Lookup(ctx, "hits")
	if err != nil {
		t.Fatal(err)
	}
	p := mgr.MakeProxyBase(h)
	nextID := func() uint64 {
		t.Helper()
		select {
		case id := <-store.calls:
			return id
		case <-ctx.Done():
			t.Fatal("the call never reached the manager")
			return 0
		}
	}
	call := p.Begin(mAdd)
	call.Args.Int64(1)
	if _, err := call.Do(ctx); err != nil {
		t.Fatal(err)
	}
	call.End()
	taken := nextID()

	waiting := make(chan error, 1)
	go func() {
		call := p.Begin(mGet)
		_, err := call.Do(ctx) // fails: a failed Do recycles its Call
		waiting <- err
	}()
	pending := nextID()

	gctx, gcancel := context.WithCancel(ctx)
	gaveUp := make(chan error, 1)
	go func() {
		call := p.Begin(mGet)
		_, err := call.Do(gctx)
		gaveUp <- err
	}()
	abandoned := nextID()
	gcancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled call: %v", err)
	}

	link.SetDown(true)
	link.Cut()
	var untaken []uint64
	select {
	case untaken = <-store.untaken:
	case <-ctx.Done():
		t.Fatal("no manager adopted the session")
	}
	if !slices.Contains(untaken, pending) || !slices.Contains(untaken, abandoned) || slices.Contains(untaken, taken) {
		t.Fatalf("untaken %v; want the waiting call %d and the given-up %d, not the answered %d", untaken, pending, abandoned, taken)
	}
	if err := <-waiting; !errors.Is(err, mgr.ErrManagerRestarted) {
		t.Fatalf("the call waiting at the failover: %v, want ErrManagerRestarted", err)
	}
}
