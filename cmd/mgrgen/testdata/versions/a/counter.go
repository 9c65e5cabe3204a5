// Version A of example/Counter, and the calls a program built from it makes.
package main

import (
	"context"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Counter is version A: the methods in the order the manager knows them are Increment,
// Reset, Scale, Value.
//
//mgr:expose typeid=example/Counter serialized
type Counter struct{ n int }

// Clone returns a new Counter: a proxy in a result, which names its type by TypeID on the
// wire, so the two versions agree on its signature although their packages differ.
func (c *Counter) Clone() *Counter { return &Counter{n: c.n} }

func (c *Counter) Increment() int          { c.n++; return c.n }
func (c *Counter) Reset(to int)            { c.n = to }
func (c *Counter) Scale(f float64) float64 { return float64(c.n) * f }
func (c *Counter) Value() int              { return c.n }

// Note is a type only version A has: version B calls it by name without registering it.
//
//mgr:expose typeid=example/Note
type Note struct{ s string }

func (n *Note) Get() string  { return n.s }
func (n *Note) Set(s string) { n.s = s }

// calls makes every call of version A against a manager built from version B.
func calls(ctx context.Context, c *mgr.Client) error {
	p, err := count(ctx, c)
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	report("Reset", nil, p.Reset(ctx, 10))
	f, err := p.Scale(ctx, 1.5)
	report("Scale", f, err)
	n, err := p.Value(ctx)
	report("Value", n, err)

	v, err := dynamic(ctx, p, "Value", nil, func(d *mgr.Decoder) any { return d.Int() })
	report("dynamic Value", v, err)
	v, err = dynamic(ctx, p, "Reset", func(e *mgr.Encoder) { e.Int64(10) }, nil)
	report("dynamic Reset", v, err)
	v, err = dynamic(ctx, p, "Twice", nil, func(d *mgr.Decoder) any { return d.Int() })
	report("dynamic Twice", v, err)
	n, err = p.Value(ctx)
	report("Value", n, err)
	cl, err := p.Clone(ctx)
	if err == nil {
		n, err = cl.Value(ctx)
		cl.Close(ctx)
	}
	report("Clone", n, err)
	return nil
}
