package mgr

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Review of client admission (client_admit.go) and adaptive inlining (reader.go).

// A call whose arguments exceed the frame limit can never be sent. Before admission it
// failed at once with ErrFrameTooLarge; now Client.call first waits for room among the
// calls in flight, and a call of more than maxSessionArgBytes fits only when no other
// call is in flight. With one call blocked in the manager (a Queue.Get, a Lock.Acquire)
// it waits until its ctx ends — at the head of the admission queue, so every later call
// of the client waits behind it too — and never reports ErrFrameTooLarge.
func TestReview3OversizedCallFailsWithoutWaitingForRoom(t *testing.T) {
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
		t.Fatalf("call with %d bytes of arguments (limit %d): %v; want ErrFrameTooLarge at once, not a wait for admission", maxSessionArgBytes, wireDefaultMaxFrameForReview3, err)
	}
}

// waiter's methods are Inline and take a context, like syncmgr's Queue.Get or
// Condition.Wait: they call Blocking before each wait. Each reports how long it waited
// after its first Blocking, and whether it ran inline.
const review3WaiterTypeID = "mgr.test.review3.waiter"

const (
	waiterWaitTwice = iota // Blocking, wait, Blocking again (Condition.Wait re-acquiring its lock; Queue.Get losing a race)
	waiterWaitOnce         // Blocking, wait
)

const review3Wait = 20 * time.Millisecond

const wireDefaultMaxFrameForReview3 = 16 << 20 // Options{}.MaxFrame 0

func review3WaitMethod(twice bool) func(ctx context.Context, _ any, args *Decoder, res *Encoder) error {
	return func(ctx context.Context, _ any, args *Decoder, res *Encoder) error {
		ic, ok := ctx.Value(inlineCtxKey{}).(*inlineCtx)
		inline := ok && ic.rd != nil
		Blocking(ctx)
		start := time.Now()
		t := time.NewTimer(review3Wait)
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
		TypeID:    review3WaiterTypeID,
		InlineNew: true,
		New:       func(context.Context, *Decoder) (any, error) { return new(int), nil },
		Methods: []Method{
			waiterWaitTwice: {Name: "WaitTwice", Inline: true, TakesContext: true, Call: review3WaitMethod(true)},
			waiterWaitOnce:  {Name: "WaitOnce", Inline: true, TakesContext: true, Call: review3WaitMethod(false)},
		},
	})
}

func review3CallWaiter(ctx context.Context, t *testing.T, p *ProxyBase, method int) (waited time.Duration, inline bool) {
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

// The hold an inline call is charged ends when it hands the reader on (handedAt). But
// overrun stores handedAt before its compare-and-swap, whether or not that succeeds, so
// a second Blocking of the same call — made long after the hand-off, by a method that
// waits twice — moves handedAt past the first wait: the wait is charged as reader hold.
// One Condition.Wait whose notifier still holds the lock, or one Queue.Get that loses an
// item to another getter, is then enough to demote the method (20 ms / 8 > 100 µs).
func TestReview3HoldEndsAtFirstHandOff(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	m, err := StartInProcess(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	h, err := m.Client().Create(ctx, review3WaiterTypeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := MakeProxyBase(h)
	desc := m.Server().lookup(h.id).desc

	waited, inline := review3CallWaiter(ctx, t, &p, waiterWaitTwice)
	if !inline {
		t.Fatal("setup: the first call of an Inline method did not run inline")
	}
	// The average started at 0, so it is now recorded/8 (rounded down).
	if recorded := 8 * time.Duration(desc.hold[waiterWaitTwice].Load()); recorded+8 > waited {
		t.Fatalf("an inline call handed the reader on at its first Blocking, then waited %s; it was charged ≥ %s of reader hold (the wait counted), and the method now runs inline: %v",
			waited, recorded, desc.quick(waiterWaitTwice))
	}
}

// Out of the reader, a call of an Inline method is charged its whole run, waits
// included, while inline it is charged only up to its Blocking. A method that waits —
// Queue.Get on an empty queue, Event.Wait, Lock.Acquire — keeps its average above
// inlineSlow for as long as its calls wait, so once demoted (by one slow call: a
// preemption, a large item, the handedAt bug above) it never runs inline again, though
// no call of it would hold the reader for more than microseconds.
func TestReview3WorkerRunChargedOnlyUntilBlocking(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	m, err := StartInProcess(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	h, err := m.Client().Create(ctx, review3WaiterTypeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := MakeProxyBase(h)
	desc := m.Server().lookup(h.id).desc

	// Demoted, as one inline call that kept the reader 3.2 ms leaves it.
	old := int64(4 * inlineSlow)
	desc.hold[waiterWaitOnce].Store(old)
	waited, inline := review3CallWaiter(ctx, t, &p, waiterWaitOnce)
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
