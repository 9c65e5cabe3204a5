package mgr_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/testnet"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// sharedStore is a Backend whose objects live outside the managers that serve them: two
// managers given the same store serve the same counters, as managers on one etcd do.
type sharedStore struct {
	mu      sync.Mutex
	n       map[string]*int64 // counters by name
	keys    map[string]bool   // resume keys of the sessions that called Add
	adopted chan string       // the old keys of adopted sessions
}

type storeCounter struct {
	s    *sharedStore
	name string
}

func (s *sharedStore) Type(typeID string) *mgr.TypeDesc {
	if typeID != counterTypeID {
		return nil
	}
	// The registered counter's methods, by name and signature; Add and Get work on the
	// store, the rest are not offered.
	ms := make([]mgr.Method, len(counterDesc.Methods))
	for i, m := range counterDesc.Methods {
		ms[i] = mgr.Method{Name: m.Name, Sig: m.Sig, Call: func(context.Context, any, *mgr.Decoder, *mgr.Encoder) error {
			return fmt.Errorf("not in the store: %s", m.Name)
		}}
	}
	ms[mAdd].Call = func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
		d := args.Int64()
		if err := args.Done(); err != nil {
			return err
		}
		c := obj.(*storeCounter)
		c.s.mu.Lock()
		defer c.s.mu.Unlock()
		if c.s.keys != nil {
			c.s.keys[mgr.CallerOf(ctx).ResumeKey()] = true
		}
		*c.s.n[c.name] += d
		res.Int64(*c.s.n[c.name])
		return nil
	}
	ms[mGet].Call = func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
		c := obj.(*storeCounter)
		c.s.mu.Lock()
		defer c.s.mu.Unlock()
		res.Int64(*c.s.n[c.name])
		return nil
	}
	return &mgr.TypeDesc{TypeID: counterTypeID, Methods: ms}
}

func (s *sharedStore) Lookup(ctx context.Context, name string) (string, any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[name] == nil {
		return "", nil, fmt.Errorf("%w: %q is not in the store", mgr.ErrUnknownObject, name)
	}
	return counterTypeID, &storeCounter{s: s, name: name}, nil
}

func serveWithBackend(t *testing.T, b mgr.Backend) *mgr.Client {
	t.Helper()
	srv, err := mgr.NewServer(mgr.Options{AuthKey: []byte("backend-test-key")})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetBackend(b); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetBackend(b); err == nil {
		t.Fatal("a second SetBackend was accepted")
	}
	ln, err := mgr.Listen(mgr.Address{Network: "tcp", Addr: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := mgr.Connect(ctx, mgr.Options{Address: mgr.ListenerAddress(ln), AuthKey: []byte("backend-test-key")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Two managers with one backend serve one object by name, through the registered
// type's method table (clients bind by name).
func TestBackendSharedByTwoManagers(t *testing.T) {
	store := &sharedStore{n: map[string]*int64{"hits": new(int64)}}
	c1, c2 := serveWithBackend(t, store), serveWithBackend(t, store)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	add := func(c *mgr.Client, d int64) int64 {
		t.Helper()
		h, err := c.Lookup(ctx, "hits")
		if err != nil {
			t.Fatal(err)
		}
		p := mgr.MakeProxyBase(h)
		call := p.Begin(mAdd)
		call.Args.Int64(d)
		res, err := call.Do(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := res.Int64()
		if err := call.End(); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := add(c1, 2); n != 2 {
		t.Fatalf("Add through manager 1 = %d", n)
	}
	if n := add(c2, 3); n != 5 {
		t.Fatalf("Add through manager 2 = %d, want 5 (the store's state)", n)
	}
	if _, err := c1.Lookup(ctx, "nope"); !errors.Is(err, mgr.ErrUnknownObject) {
		t.Fatalf("Lookup of a name the store lacks: %v", err)
	}
}

// adoptingStore is a sharedStore that adopts sessions (mgr.Adopter).
type adoptingStore struct{ *sharedStore }

func (s adoptingStore) Adopt(ctx context.Context, oldKey string, untaken []uint64, c mgr.Caller) error {
	s.adopted <- oldKey
	return nil
}

// A client with Options.Failover whose manager stops answering is adopted by another
// manager of the same store: it goes on there with a new session (as after a restart),
// and the store is told which session it took over.
func TestFailoverAdoption(t *testing.T) {
	store := adoptingStore{&sharedStore{n: map[string]*int64{"hits": new(int64)}, keys: map[string]bool{}, adopted: make(chan string, 1)}}
	a1, a2 := serveAddrWithBackend(t, store), serveAddrWithBackend(t, store)
	link := testnet.NewCutLink(t, "tcp", a1.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	states := make(chan mgr.ConnState, 16)
	c, err := mgr.Connect(ctx, mgr.Options{Address: mgr.Address{Network: "tcp", Addr: link.Addr()}, Failover: []mgr.Address{a2},
		AuthKey: []byte("backend-test-key"), OnState: func(s mgr.ConnState, _ error) { states <- s }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	add := func(d int64) (int64, error) {
		h, err := c.Lookup(ctx, "hits")
		if err != nil {
			return 0, err
		}
		p := mgr.MakeProxyBase(h)
		call := p.Begin(mAdd)
		call.Args.Int64(d)
		res, err := call.Do(ctx)
		if err != nil {
			return 0, err
		}
		n := res.Int64()
		return n, call.End()
	}
	if _, err := add(1); err != nil {
		t.Fatal(err)
	}
	link.SetDown(true) // the first manager is out of reach from now on
	link.Cut()
	select {
	case key := <-store.adopted:
		store.mu.Lock()
		known := store.keys[key]
		store.mu.Unlock()
		if !known {
			t.Fatalf("adopted session %q is not the client's session on the first manager", key)
		}
	case <-ctx.Done():
		t.Fatal("no manager adopted the session")
	}
	for s := range states {
		if s == mgr.StateRestarted {
			break
		}
		if s == mgr.StateClosed {
			t.Fatalf("the client gave up: %v", c.Err())
		}
	}
	if n, err := add(1); n != 2 || err != nil {
		t.Fatalf("Add on the adopting manager = %d, %v; want 2", n, err)
	}
}

func serveAddrWithBackend(t *testing.T, b mgr.Backend) mgr.Address {
	t.Helper()
	return serveAddrWithOptions(t, b, mgr.Options{})
}

// serveAddrWithOptions serves a manager with opts (its AuthKey set) and backend b.
func serveAddrWithOptions(t *testing.T, b mgr.Backend, opts mgr.Options) mgr.Address {
	t.Helper()
	opts.AuthKey = []byte("backend-test-key")
	srv, err := mgr.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetBackend(b); err != nil {
		t.Fatal(err)
	}
	ln, err := mgr.Listen(mgr.Address{Network: "tcp", Addr: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return mgr.ListenerAddress(ln)
}

// Without a shared store, Failover still finds a manager: the client starts a new
// session there, as after a restart.
func TestFailoverWithoutBackend(t *testing.T) {
	a1, a2 := serveAddrWithBackend(t, &sharedStore{n: map[string]*int64{}}), serveAddrWithBackend(t, &sharedStore{n: map[string]*int64{}})
	link := testnet.NewCutLink(t, "tcp", a1.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	states := make(chan mgr.ConnState, 16)
	c, err := mgr.Connect(ctx, mgr.Options{Address: mgr.Address{Network: "tcp", Addr: link.Addr()}, Failover: []mgr.Address{a2},
		AuthKey: []byte("backend-test-key"), OnState: func(s mgr.ConnState, _ error) { states <- s }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	link.SetDown(true)
	link.Cut()
	for s := range states {
		if s == mgr.StateRestarted {
			break
		}
		if s == mgr.StateClosed {
			t.Fatalf("the client gave up: %v", c.Err())
		}
	}
	if _, err := c.Lookup(ctx, "nope"); !errors.Is(err, mgr.ErrUnknownObject) {
		t.Fatalf("a call on the second manager: %v", err)
	}
}
