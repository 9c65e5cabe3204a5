// Version B of example/Counter, and the calls a program built from it makes.
package main

import (
	"context"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Counter is version B. Against version A (Increment, Reset, Scale, Value) it adds
// Decrement and Twice, drops Reset, changes Scale's signature, and so moves Increment
// from #0 to #1 and Value from #3 to #4: Decrement, Increment, Scale, Twice, Value.
//
//mgr:expose typeid=example/Counter serialized
type Counter struct{ n int }

func (c *Counter) Decrement() int { c.n--; return c.n }

// Clone returns a new Counter: a proxy in a result, which names its type by TypeID on the
// wire, so the two versions agree on its signature although their packages differ.
func (c *Counter) Clone() *Counter { return &Counter{n: c.n} }

func (c *Counter) Increment() int  { c.n++; return c.n }
func (c *Counter) Scale(f int) int { return c.n * f }
func (c *Counter) Twice() int      { return 2 * c.n }
func (c *Counter) Value() int      { return c.n }

// calls makes every call of version B against a manager built from version A.
func calls(ctx context.Context, c *mgr.Client) error {
	p, err := count(ctx, c)
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	n, err := p.Decrement(ctx)
	report("Decrement", n, err)
	n, err = p.Twice(ctx)
	report("Twice", n, err)
	n, err = p.Scale(ctx, 2)
	report("Scale", n, err)
	n, err = p.Scale(ctx, 2) // the binding is cached: the same answer
	report("Scale", n, err)
	n, err = p.Value(ctx)
	report("Value", n, err)

	v, err := dynamic(ctx, p, "Value", nil, func(d *mgr.Decoder) any { return d.Int() })
	report("dynamic Value", v, err)
	v, err = dynamic(ctx, p, "Decrement", nil, func(d *mgr.Decoder) any { return d.Int() })
	report("dynamic Decrement", v, err)
	v, err = dynamic(ctx, p, "Scale", func(e *mgr.Encoder) { e.Int64(2) }, func(d *mgr.Decoder) any { return d.Int() })
	report("dynamic Scale", v, err)
	v, err = dynamic(ctx, p, "Reset", func(e *mgr.Encoder) { e.Int64(10) }, nil)
	report("dynamic Reset", v, err)
	n, err = p.Value(ctx)
	report("Value", n, err)

	// A second object of the type: the session's binding serves its proxy too.
	q, err := CreateCounter(ctx, c)
	if err != nil {
		return err
	}
	defer q.Close(ctx)
	n, err = q.Increment(ctx)
	report("second Increment", n, err)
	n, err = q.Decrement(ctx)
	report("second Decrement", n, err)

	// A type this program has not registered, called by name only.
	h, err := c.Create(ctx, "example/Note", nil)
	if err != nil {
		return err
	}
	note := mgr.MakeProxyBase(h)
	defer note.Close(ctx)
	v, err = dynamic(ctx, &note, "Set", func(e *mgr.Encoder) { e.String("hello") }, nil)
	report("Note Set", v, err)
	v, err = dynamic(ctx, &note, "Get", nil, func(d *mgr.Decoder) any { return d.String() })
	report("Note Get", v, err)
	v, err = dynamic(ctx, &note, "Clear", nil, nil)
	report("Note Clear", v, err)
	cl, err := p.Clone(ctx)
	if err == nil {
		n, err = cl.Value(ctx)
		cl.Close(ctx)
	}
	report("Clone", n, err)
	return nil
}
