package mgr_test

import (
	"context"
	"errors"
	"sync"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// This file registers a type by hand, exactly as mgrgen's output does, so the runtime's
// tests do not depend on the generator.

// counter is the shared object of the runtime tests.
type counter struct {
	mu      sync.Mutex
	n       int64
	started chan struct{} // closed by the first Block call, so tests can wait for it
	once    sync.Once

	gateEntered chan struct{} // closed by the first Gate call
	gate        chan struct{} // closed by Open; Gate waits for it
	gateOnce    sync.Once
	openOnce    sync.Once
}

var errTooBig = errors.New("counter: too big")

func init() {
	mgr.RegisterError("mgr_test.errTooBig", errTooBig)
	mgr.Register(counterDesc)
}

const counterTypeID = "mgr_test.counter"

// Method indexes of counterDesc.
const (
	mAdd = iota
	mGet
	mBlock
	mPanic
	mBlockStarted
	mGate
	mGateEntered
	mOpen
	mFill
)

var counterDesc = &mgr.TypeDesc{
	TypeID:    counterTypeID,
	InlineNew: true,
	New: func(ctx context.Context, args *mgr.Decoder) (any, error) {
		start := args.Int64()
		if err := args.Done(); err != nil {
			return nil, err
		}
		return &counter{n: start, started: make(chan struct{}), gateEntered: make(chan struct{}), gate: make(chan struct{})}, nil
	},
	Methods: []mgr.Method{
		mAdd: {Name: "Add", Inline: true, Call: func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			d := args.Int64()
			if err := args.Done(); err != nil {
				return err
			}
			c := obj.(*counter)
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.n+d > 1<<40 {
				return errTooBig
			}
			c.n += d
			res.Int64(c.n)
			return nil
		}},
		mGet: {Name: "Get", Inline: true, Call: func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			if err := args.Done(); err != nil {
				return err
			}
			c := obj.(*counter)
			c.mu.Lock()
			defer c.mu.Unlock()
			res.Int64(c.n)
			return nil
		}},
		// Block waits until its ctx ends and reports why.
		mBlock: {Name: "Block", Call: func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			if err := args.Done(); err != nil {
				return err
			}
			c := obj.(*counter)
			c.once.Do(func() { close(c.started) })
			<-ctx.Done()
			return ctx.Err()
		}},
		mPanic: {Name: "Panic", Call: func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			panic("boom")
		}},
		// BlockStarted returns once some Block call has started.
		mBlockStarted: {Name: "BlockStarted", Call: func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			select {
			case <-obj.(*counter).started:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}},
		// Gate is an Inline method that waits (as no Inline method should) until Open is
		// called: it holds up the session's reader until the manager hands reading on.
		mGate: {Name: "Gate", Inline: true, Call: func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			c := obj.(*counter)
			c.gateOnce.Do(func() { close(c.gateEntered) })
			<-c.gate
			return args.Done()
		}},
		// GateEntered returns once some Gate call has started.
		mGateEntered: {Name: "GateEntered", Call: func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			select {
			case <-obj.(*counter).gateEntered:
				return args.Done()
			case <-ctx.Done():
				return ctx.Err()
			}
		}},
		mOpen: {Name: "Open", Inline: true, Call: func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			c := obj.(*counter)
			c.openOnce.Do(func() { close(c.gate) })
			return args.Done()
		}},
		// Fill returns n bytes, byte i being byte(i*7+n).
		mFill: {Name: "Fill", Inline: true, Call: func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
			n := args.Int64()
			if err := args.Done(); err != nil {
				return err
			}
			res.ByteSlice(fillPattern(n))
			return nil
		}},
	},
}

// fillPattern returns n bytes, byte i being byte(i*7+n). The pattern repeats every 256
// bytes, so it is written once and doubled by copy (fast under the race detector).
func fillPattern(n int64) []byte {
	b := make([]byte, n)
	for i := range min(n, 256) {
		b[i] = byte(i*7 + n)
	}
	for done := min(n, 256); done < n; done *= 2 {
		copy(b[done:], b[:done])
	}
	return b
}

// counterProxy is the proxy mgrgen would generate.
type counterProxy struct{ mgr.ProxyBase }

func createCounter(ctx context.Context, c *mgr.Client, start int64) (*counterProxy, error) {
	h, err := c.Create(ctx, counterTypeID, func(e *mgr.Encoder) { e.Int64(start) })
	if err != nil {
		return nil, err
	}
	return &counterProxy{mgr.MakeProxyBase(h)}, nil
}

func (p *counterProxy) Add(ctx context.Context, d int64) (int64, error) {
	c := p.Begin(mAdd)
	c.Args.Int64(d)
	res, err := c.Do(ctx)
	if err != nil {
		return 0, err
	}
	r := res.Int64()
	return r, c.End()
}

func (p *counterProxy) Get(ctx context.Context) (int64, error) {
	c := p.Begin(mGet)
	res, err := c.Do(ctx)
	if err != nil {
		return 0, err
	}
	r := res.Int64()
	return r, c.End()
}

func (p *counterProxy) Block(ctx context.Context) (string, error) {
	c := p.Begin(mBlock)
	res, err := c.Do(ctx)
	if err != nil {
		return "", err
	}
	r := res.String()
	return r, c.End()
}

func (p *counterProxy) Fill(ctx context.Context, n int64) ([]byte, error) {
	c := p.Begin(mFill)
	c.Args.Int64(n)
	res, err := c.Do(ctx)
	if err != nil {
		return nil, err
	}
	b := res.ByteSlice()
	return b, c.End()
}

func (p *counterProxy) call0(ctx context.Context, method int) error {
	c := p.Begin(method)
	_, err := c.Do(ctx)
	if err != nil {
		return err
	}
	return c.End()
}
