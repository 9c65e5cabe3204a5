package mgr

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// sleeper's Sleep waits for its ctx to end; Ping returns at once.
const sleeperTypeID = "mgr.test.sleeper"

const (
	sleeperSleep = iota
	sleeperPing
)

func init() {
	Register(&TypeDesc{
		TypeID:    sleeperTypeID,
		InlineNew: true,
		New:       func(context.Context, *Decoder) (any, error) { return new(int), nil },
		Methods: []Method{
			sleeperSleep: {Name: "Sleep", TakesContext: true, Call: func(ctx context.Context, _ any, args *Decoder, res *Encoder) error {
				<-ctx.Done()
				return ctx.Err()
			}},
			sleeperPing: {Name: "Ping", Inline: true, Call: func(ctx context.Context, _ any, args *Decoder, res *Encoder) error {
				return args.Done()
			}},
		},
	})
}

// A session may have maxSessionCalls calls in flight; the manager reads no more until
// one ends. With that many calls blocked, the client must hold the next call back
// itself (client_admit.go) — had it sent it, the manager would not read past it, and
// the Cancel that would end a blocked call, written after it, would never be read.
// Here the Cancel gets through, the blocked call ends, and the held-back call runs.
func TestClientAdmissionKeepsCancelsReachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	m, err := Start(ctx, Options{}) // a child process: thousands of goroutines each side
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	c := m.Client()
	h, err := c.Create(ctx, sleeperTypeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := MakeProxyBase(h)
	call := func(ctx context.Context, method int) error {
		cl := p.Begin(method)
		if _, err := cl.Do(ctx); err != nil {
			return err
		}
		return cl.End()
	}

	sleepCtx, stopAll := context.WithCancel(ctx)
	defer stopAll()
	firstCtx, stopFirst := context.WithCancel(sleepCtx)
	defer stopFirst()
	var wg sync.WaitGroup
	firstErr := make(chan error, 1)
	wg.Go(func() { firstErr <- call(firstCtx, sleeperSleep) })
	for range maxSessionCalls - 1 {
		wg.Go(func() { call(sleepCtx, sleeperSleep) })
	}
	waitUntil(t, "all calls admitted", func() bool {
		c.admit.mu.Lock()
		defer c.admit.mu.Unlock()
		return c.admit.calls == maxSessionCalls
	})
	pingErr := make(chan error, 1)
	go func() { pingErr <- call(ctx, sleeperPing) }()
	waitUntil(t, "the extra call to wait for room", func() bool {
		c.admit.mu.Lock()
		defer c.admit.mu.Unlock()
		return len(c.admit.waiters) == 1
	})

	stopFirst()
	select {
	case err := <-firstErr:
		var re *RemoteError
		if !errors.As(err, &re) || re.Sentinel != context.Canceled {
			t.Fatalf("cancelled Sleep: %v; want the manager's context.Canceled (the Cancel reached it)", err)
		}
	case <-ctx.Done():
		t.Fatal("cancelled Sleep did not return")
	}
	select {
	case err := <-pingErr:
		if err != nil {
			t.Fatalf("Ping held back, then admitted: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Ping was never admitted")
	}
	stopAll()
	wg.Wait()
}

// A caller whose ctx ends while it waits for room gives up with its ctx's error, and
// the room it would have had goes to the next in line.
func TestAdmissionWaitHonoursContext(t *testing.T) {
	var a admission
	a.calls = maxSessionCalls
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- a.acquire(ctx, done, 10) }()
	next := make(chan error, 1)
	waitUntil(t, "the first waiter", func() bool { a.mu.Lock(); defer a.mu.Unlock(); return len(a.waiters) == 1 })
	go func() { next <- a.acquire(context.Background(), done, 20) }()
	waitUntil(t, "the second waiter", func() bool { a.mu.Lock(); defer a.mu.Unlock(); return len(a.waiters) == 2 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("first waiter: %v, want context.Canceled", err)
	}
	a.release(0) // a call ends: room for one
	if err := <-next; err != nil {
		t.Fatalf("second waiter: %v", err)
	}
	a.mu.Lock()
	calls, bytes, waiters := a.calls, a.bytes, len(a.waiters)
	a.mu.Unlock()
	if calls != maxSessionCalls || bytes != 20 || waiters != 0 {
		t.Fatalf("calls %d, bytes %d, waiters %d; want %d, 20, 0", calls, bytes, waiters, maxSessionCalls)
	}
	// The connection ending wakes waiters too.
	close(done)
	if err := a.acquire(context.Background(), done, 1); err != errConnDone {
		t.Fatalf("waiter on an ended connection: %v, want errConnDone", err)
	}
}
