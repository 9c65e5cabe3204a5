package mgr

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
)

// Client admission (client_admit.go) and adaptive inlining (reader.go) at their edges.

// A call whose arguments exceed the frame limit can never be sent: it must fail at once
// with ErrFrameTooLarge, not first wait for room among the calls in flight. (A call of
// more than maxSessionArgBytes fits only when no other call is in flight; with one call
// blocked in the manager it would wait, at the head of the line, until its ctx ended —
// and every later call of the client behind it.)
func TestOversizedCallFailsWithoutWaitingForRoom(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	m, err := StartInProcess(Options{})
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

	// One call blocked in the manager.
	sleepCtx, stopSleep := context.WithCancel(ctx)
	slept := make(chan struct{})
	go func() {
		defer close(slept)
		cl := p.Begin(sleeperSleep)
		if _, err := cl.Do(sleepCtx); err == nil {
			cl.End()
		}
	}()
	defer func() { stopSleep(); <-slept }()
	waitUntil(t, "the Sleep call to be admitted", func() bool {
		c.admit.mu.Lock()
		defer c.admit.mu.Unlock()
		return c.admit.calls == 1
	})

	// Arguments above the 16 MiB frame limit (and above the session's 64 MiB). Never
	// sent, so not encoded properly (ByteSlice would copy 64 MiB: seconds under -race).
	cl := p.Begin(sleeperPing)
	cl.Args.buf = append(cl.Args.buf, make([]byte, maxSessionArgBytes)...)
	bctx, bcancel := context.WithTimeout(ctx, 3*time.Second)
	defer bcancel()
	_, err = cl.Do(bctx)
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("call with %d bytes of arguments (limit %d): %v; want ErrFrameTooLarge at once, not a wait for admission", maxSessionArgBytes, defaultMaxFrame, err)
	}
}

// waiter's methods are Inline and take a context, like syncmgr's Queue.Get or
// Condition.Wait: they call Blocking before each wait. Each reports how long it waited
// after its first Blocking, and whether it ran inline.
const waiterTypeID = "mgr.test.waiter"

const (
	waiterWaitTwice = iota // Blocking, wait, Blocking again (Condition.Wait re-acquiring its lock; Queue.Get losing a race)
	waiterWaitOnce         // Blocking, wait
)

const waiterWait = 20 * time.Millisecond

const defaultMaxFrame = wire.DefaultMaxFrame // Options{}.MaxFrame 0

func waitMethod(twice bool) func(ctx context.Context, _ any, args *Decoder, res *Encoder) error {
	return func(ctx context.Context, _ any, args *Decoder, res *Encoder) error {
		ic, ok := ctx.Value(inlineCtxKey{}).(*inlineCtx)
		inline := ok && ic.rd != nil
		Blocking(ctx)
		start := time.Now()
		t := time.NewTimer(waiterWait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		waited := time.Since(start)
		if twice {
			Blocking(ctx)
		}
		res.Int64(int64(waited))
		res.Bool(inline)
		return args.Done()
	}
}

func init() {
	Register(&TypeDesc{
		TypeID:    waiterTypeID,
		InlineNew: true,
		New:       func(context.Context, *Decoder) (any, error) { return new(int), nil },
		Methods: []Method{
			waiterWaitTwice: {Name: "WaitTwice", Inline: true, TakesContext: true, Call: waitMethod(true)},
			waiterWaitOnce:  {Name: "WaitOnce", Inline: true, TakesContext: true, Call: waitMethod(false)},
		},
	})
}

func callWaiter(ctx context.Context, t *testing.T, p *ProxyBase, method int) (waited time.Duration, inline bool) {
	t.Helper()
	cl := p.Begin(method)
	res, err := cl.Do(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waited, inline = time.Duration(res.Int64()), res.Bool()
	if err := cl.End(); err != nil {
		t.Fatal(err)
	}
	return waited, inline
}

// The hold an inline call is charged ends when it first hands the reader on (handedAt),
// even if it calls Blocking again later (a method that waits twice: Condition.Wait
// re-acquiring its lock, Queue.Get losing an item to another getter). Moving handedAt to
// the second Blocking would charge the first wait as reader hold, and one 20 ms wait
// would demote the method (20 ms / 8 > 100 µs).
func TestInlineHoldEndsAtFirstHandOff(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	m, err := StartInProcess(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	h, err := m.Client().Create(ctx, waiterTypeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := MakeProxyBase(h)
	desc := m.Server().lookup(h.id).desc

	waited, inline := callWaiter(ctx, t, &p, waiterWaitTwice)
	if !inline {
		t.Fatal("setup: the first call of an Inline method did not run inline")
	}
	// The average started at 0, so it is now recorded/8 (rounded down).
	if recorded := 8 * time.Duration(desc.hold[waiterWaitTwice].Load()); recorded+8 > waited {
		t.Fatalf("an inline call handed the reader on at its first Blocking, then waited %s; it was charged ≥ %s of reader hold (the wait counted), and the method now runs inline: %v",
			waited, recorded, desc.quick(waiterWaitTwice))
	}
}

// Out of the reader, a call of an Inline method must be charged as it would be inline:
// up to its first Blocking, not its whole run. Otherwise a method that waits — Queue.Get
// on an empty queue, Event.Wait, Lock.Acquire — would keep its average above inlineSlow
// for as long as its calls wait, and once demoted (by one slow call) never run inline
// again, though no call of it holds a reader for more than microseconds.
func TestWorkerRunChargedOnlyUntilBlocking(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	m, err := StartInProcess(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	h, err := m.Client().Create(ctx, waiterTypeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := MakeProxyBase(h)
	desc := m.Server().lookup(h.id).desc

	// Demoted so far that even a sequential session's calls go to workers
	// (inlineSlowAlone, sequential.go), as inline calls that kept the reader 20 ms leave it.
	old := int64(2 * inlineSlowAlone)
	desc.hold[waiterWaitOnce].Store(old)
	waited, inline := callWaiter(ctx, t, &p, waiterWaitOnce)
	if inline {
		t.Fatal("setup: a demoted method ran inline")
	}
	// new = old + (recorded-old)/8, rounded toward zero.
	now := desc.hold[waiterWaitOnce].Load()
	if recorded := time.Duration(old + 8*(now-old)); recorded+8 > waited {
		t.Fatalf("a worker-run call called Blocking at once, then waited %s; it was charged ≈ %s (the wait counted): average %s → %s, so the method stays out of the reader while its calls wait",
			waited, recorded, time.Duration(old), time.Duration(now))
	}
}
