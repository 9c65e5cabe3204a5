package mgr

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// probe is a type whose methods take a context and run inline (the "inline" annotation
// option): they look at how the manager runs them.
type probe struct {
	started chan struct{} // closed when Wait begins
}

const probeTypeID = "mgr.test.probe"

const (
	probeBlocking    = iota // calls Blocking, reports whether reading was handed on
	probeDeadline           // reports whether its ctx has the caller's deadline
	probeWait               // calls Blocking, then waits for its ctx to end
	probeWaitStarted        // returns once Wait has begun
)

func init() {
	Register(&TypeDesc{
		TypeID:    probeTypeID,
		InlineNew: true,
		New:       func(context.Context, *Decoder) (any, error) { return &probe{started: make(chan struct{})}, nil },
		Methods: []Method{
			probeBlocking: {Name: "Blocking", Inline: true, TakesContext: true, Call: func(ctx context.Context, _ any, args *Decoder, res *Encoder) error {
				ic, ok := ctx.Value(inlineCtxKey{}).(*inlineCtx)
				if !ok {
					return errors.New("the call did not run inline")
				}
				if ic.rd.state.Load() != readerInline {
					return errors.New("the reader is not running an inline call")
				}
				Blocking(ctx)
				res.Bool(ic.rd.state.Load() == readerHandedOff)
				return args.Done()
			}},
			probeDeadline: {Name: "Deadline", Inline: true, TakesContext: true, Call: func(ctx context.Context, _ any, args *Decoder, res *Encoder) error {
				_, ok := ctx.Deadline()
				res.Bool(ok)
				return args.Done()
			}},
			probeWait: {Name: "Wait", Inline: true, TakesContext: true, Call: func(ctx context.Context, obj any, args *Decoder, res *Encoder) error {
				close(obj.(*probe).started)
				Blocking(ctx)
				<-ctx.Done()
				return ctx.Err()
			}},
			probeWaitStarted: {Name: "WaitStarted", Inline: true, TakesContext: true, Call: func(ctx context.Context, obj any, args *Decoder, res *Encoder) error {
				Blocking(ctx)
				select {
				case <-obj.(*probe).started:
					res.Bool(true)
					return args.Done()
				case <-ctx.Done():
					return ctx.Err()
				}
			}},
		},
	})
}

func callProbe(ctx context.Context, p *ProxyBase, method int) (bool, error) {
	c := p.Begin(method)
	res, err := c.Do(ctx)
	if err != nil {
		return false, err
	}
	v := res.Bool()
	return v, c.End()
}

// An inline method that takes a context gets one of its own — with the caller's
// deadline, reached by a Cancel — and Blocking hands the session's reading on at once.
func TestInlineMethodWithContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := StartInProcess(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	h, err := m.Client().Create(ctx, probeTypeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := MakeProxyBase(h)

	if handed, err := callProbe(ctx, &p, probeBlocking); err != nil || !handed {
		t.Fatalf("Blocking: handed on = %v, %v; want true", handed, err)
	}
	// The hand-over left one reader, which still serves the session.
	if has, err := callProbe(ctx, &p, probeDeadline); err != nil || !has {
		t.Fatalf("Deadline: %v, %v; want the caller's deadline", has, err)
	}
	if has, err := callProbe(context.Background(), &p, probeDeadline); err != nil || has {
		t.Fatalf("Deadline without one: %v, %v; want none", has, err)
	}

	// A Cancel reaches an inline call waiting after Blocking.
	wctx, wcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := callProbe(wctx, &p, probeWait)
		done <- err
	}()
	// The session keeps serving while Wait waits; then cancel it.
	if _, err := callProbe(ctx, &p, probeWaitStarted); err != nil {
		t.Fatalf("call while Wait waits: %v", err)
	}
	wcancel()
	select {
	case err := <-done:
		var re *RemoteError
		if !errors.As(err, &re) || re.Sentinel != context.Canceled {
			t.Fatalf("cancelled Wait: %v; want the manager's context.Canceled", err)
		}
	case <-ctx.Done():
		t.Fatal("cancelled Wait did not return")
	}
}

// spinner's Spin is an Inline method (no context) that computes for a while: the kind
// of method that should not run inline, where calls of one session run one at a time.
type spinner struct {
	running, most atomic.Int32

	mu      sync.Mutex
	inline  <-chan struct{} // Done of the first call's ctx: the session's, as it ran inline
	outside int             // calls with a ctx of their own: run by a worker
}

const spinnerTypeID = "mgr.test.spinner"

func init() {
	Register(&TypeDesc{
		TypeID:    spinnerTypeID,
		InlineNew: true,
		New:       func(context.Context, *Decoder) (any, error) { return &spinner{}, nil },
		Methods: []Method{{Name: "Spin", Inline: true, Call: func(ctx context.Context, obj any, args *Decoder, res *Encoder) error {
			s := obj.(*spinner)
			s.mu.Lock()
			if s.inline == nil {
				s.inline = ctx.Done()
			} else if ctx.Done() != s.inline {
				s.outside++
			}
			s.mu.Unlock()
			n := s.running.Add(1)
			for m := s.most.Load(); n > m && !s.most.CompareAndSwap(m, n); m = s.most.Load() {
			}
			for start := time.Now(); time.Since(start) < 300*time.Microsecond; {
			}
			s.running.Add(-1)
			return args.Done()
		}}},
	})
}

// An Inline method that turns out slow (300 µs of computing a call, above inlineSlow)
// stops running inline: one client's concurrent calls of it then run in goroutines of
// their own, side by side, instead of one at a time in the reader.
func TestSlowInlineMethodLeavesTheReader(t *testing.T) {
	ctx, m := startInProcessT(t)
	h, err := m.Client().Create(ctx, spinnerTypeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := MakeProxyBase(h)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				c := p.Begin(0)
				if _, err := c.Do(ctx); err != nil {
					t.Error(err)
					return
				}
				c.End()
			}
		})
	}
	wg.Wait()
	obj := m.Server().lookup(h.id)
	sp := obj.value.(*spinner)
	sp.mu.Lock()
	outside := sp.outside
	sp.mu.Unlock()
	// Whether two calls overlap in time depends on free CPUs; where they ran does not.
	if outside == 0 {
		t.Fatal("every Spin call ran in the reader; want the later ones in goroutines of their own")
	}
	if obj.desc.quick(0) {
		t.Fatalf("Spin still counts as quick: average hold %s", time.Duration(obj.desc.hold[0].Load()))
	}
	t.Logf("%d of 160 calls ran outside the reader; at most %d at once", outside, sp.most.Load())
}
