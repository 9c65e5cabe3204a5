package mgr_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/testnet"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// Create, Attach and Lookup cancelled at random moments through a link that delays the
// manager's replies past the client's CancelGrace: each either returns its reference or
// fails having taken none, and a token whose Attach failed attaches on the next try.
// Afterwards the session holds nothing and the table is back to what it was.
func TestCancelledControlCallsLeakNothing(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{Initializer: "test-named-counter"})
	const grace, delay = time.Millisecond, 5 * time.Millisecond
	opts := m.Options()
	opts.Address = mgr.Address{Network: "unix", Addr: testnet.SlowLink(t, m.Address().Network, m.Address().Addr, delay)}
	opts.CancelGrace = grace
	slow, err := mgr.Connect(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	base, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	baseline := m.Server().NumObjects() // the named counter and base

	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	cancelled := func(err error) bool {
		return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
	}
	var held []*mgr.Handle
	failures := 0
	for range 150 {
		cctx, cancel := context.WithTimeout(ctx, time.Duration(rng.Int64N(int64(3*delay))))
		p, err := createCounter(cctx, slow, 1)
		switch {
		case err == nil:
			held = append(held, p.Handle())
		case cancelled(err):
			failures++
		default:
			t.Fatalf("Create: %v", err)
		}
		cancel()

		tok, err := base.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel = context.WithTimeout(ctx, time.Duration(rng.Int64N(int64(3*delay))))
		h, err := slow.Attach(cctx, tok)
		cancel()
		if cancelled(err) {
			failures++
			// What failed took nothing: the token is still there to attach.
			h, err = slow.Attach(ctx, tok)
		}
		if err != nil {
			t.Fatalf("Attach: %v", err)
		}
		held = append(held, h)

		cctx, cancel = context.WithTimeout(ctx, time.Duration(rng.Int64N(int64(3*delay))))
		h, err = slow.Lookup(cctx, "shared")
		switch {
		case err == nil:
			held = append(held, h)
		case cancelled(err):
			failures++
		default:
			t.Fatalf("Lookup: %v", err)
		}
		cancel()
	}
	t.Logf("%d references taken, %d calls failed by their ctx", len(held), failures)
	for _, h := range held {
		pb := mgr.MakeProxyBase(h)
		if err := pb.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		if t.Failed() {
			t.Logf("left: %+v", m.Server().Info())
		}
	}()
	waitUntil(t, "the slow session to hold nothing", 10*time.Second, func() bool {
		info := m.Server().Info()
		for _, s := range info.Sessions {
			if s.ID == slow.SessionID() && s.Refs != 0 {
				return false
			}
		}
		return m.Server().NumObjects() == baseline
	})
	runtime.KeepAlive(base) // its reference is part of the baseline
}
