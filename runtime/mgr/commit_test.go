package mgr_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/testnet"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// committer is a shared object whose Step does something no Undo can take back (it
// counts), after mgr.Commit, at a moment the test chooses relative to the call's Cancel.
type committer struct {
	entered chan struct{} // a Step call has begun (one per call)
	steps   atomic.Int64
}

const committerTypeID = "mgr_test.committer"

// Step modes.
const (
	commitThenWait = iota // Commit, then wait for the ctx to end (the Cancel came), then step
	waitThenCommit        // wait for the ctx to end, then Commit (refused), and step only if it is not
)

func init() {
	mgr.Register(&mgr.TypeDesc{
		TypeID:    committerTypeID,
		InlineNew: true,
		New: func(ctx context.Context, args *mgr.Decoder) (any, error) {
			return &committer{entered: make(chan struct{}, 1)}, args.Done()
		},
		Methods: []mgr.Method{
			{Name: "Step", TakesContext: true, Call: func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
				mode := args.Int64()
				if err := args.Done(); err != nil {
					return err
				}
				c := obj.(*committer)
				if mode == commitThenWait {
					if err := mgr.Commit(ctx); err != nil {
						return err
					}
				}
				c.entered <- struct{}{}
				<-ctx.Done() // the test cancels the call once Step has begun
				if mode == waitThenCommit {
					if err := mgr.Commit(ctx); err != nil {
						return err
					}
				}
				res.Int64(c.steps.Add(1))
				return nil
			}},
			{Name: "Entered", TakesContext: true, Call: func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
				select {
				case <-obj.(*committer).entered:
					return args.Done()
				case <-ctx.Done():
					return ctx.Err()
				}
			}},
			{Name: "Steps", Call: func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
				res.Int64(obj.(*committer).steps.Load())
				return args.Done()
			}},
		},
	})
}

type committerProxy struct{ mgr.ProxyBase }

func (p *committerProxy) Step(ctx context.Context, mode int64) (int64, error) {
	c := p.Begin(0)
	c.Args.Int64(mode)
	res, err := c.Do(ctx)
	if err != nil {
		return 0, err
	}
	n := res.Int64()
	return n, c.End()
}

func (p *committerProxy) Entered(ctx context.Context) error {
	c := p.Begin(1)
	if _, err := c.Do(ctx); err != nil {
		return err
	}
	return c.End()
}

func (p *committerProxy) Steps(ctx context.Context) (int64, error) {
	c := p.Begin(2)
	res, err := c.Do(ctx)
	if err != nil {
		return 0, err
	}
	n := res.Int64()
	return n, c.End()
}

// TestCommitBeforeCancelIsReported: a method that committed (mgr.Commit) before its call
// was cancelled does its step, and its caller hears so — though the manager's words
// reach the client only after the client's CancelGrace, which for a method that had not
// committed means the client gives up once the manager acknowledges the Cancel. A
// Queue.Put that put its item in while its caller was told "cancelled" was the load
// test's duplicate (TestCancelledPutsLoseAndDuplicateNothing in syncmgr).
func TestCommitBeforeCancelIsReported(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	p, direct := slowCommitter(t, ctx, m)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	var n int64
	go func() {
		var err error
		n, err = p.Step(cctx, commitThenWait)
		done <- err
	}()
	if err := direct.Entered(ctx); err != nil { // Step has committed
		t.Fatal(err)
	}
	cancel() // Cancel sent; the manager gives no acknowledgement: the call committed
	if err := <-done; err != nil || n != 1 {
		t.Fatalf("Step cancelled after it committed: %d, %v; want 1, nil (the step was done)", n, err)
	}
	if steps, err := direct.Steps(ctx); err != nil || steps != 1 {
		t.Fatalf("Steps = %d, %v; want 1", steps, err)
	}
}

// TestCommitAfterCancelIsRefused: a method that asks to commit after its call's Cancel
// was acknowledged is refused, does nothing, and its caller gets the ctx's error.
func TestCommitAfterCancelIsRefused(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	p, direct := slowCommitter(t, ctx, m)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := p.Step(cctx, waitThenCommit)
		done <- err
	}()
	if err := direct.Entered(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Step cancelled before it committed: %v; want context.Canceled", err)
	}
	if steps, err := direct.Steps(ctx); err != nil || steps != 0 {
		t.Fatalf("Steps = %d, %v; want 0", steps, err)
	}
}

// slowCommitter creates a committer and returns it through a client whose manager's
// words are slowed past its CancelGrace, and through m's own client.
func slowCommitter(t *testing.T, ctx context.Context, m *mgr.Manager) (slowP, direct *committerProxy) {
	t.Helper()
	const grace, delay = time.Millisecond, 20 * time.Millisecond
	opts := m.Options()
	opts.Address = mgr.Address{Network: "unix", Addr: testnet.SlowLink(t, m.Address().Network, m.Address().Addr, delay)}
	opts.CancelGrace = grace
	slow, err := mgr.Connect(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slow.Close() })
	h, err := m.Client().Create(ctx, committerTypeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	direct = &committerProxy{mgr.MakeProxyBase(h)}
	tok, err := direct.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := slow.Attach(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	return &committerProxy{mgr.MakeProxyBase(hs)}, direct
}
