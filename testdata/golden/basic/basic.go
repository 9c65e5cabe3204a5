// Package basic is the smallest useful input: one exposed type with a constructor, a
// sentinel error, a method taking ctx, and methods returning and taking its own proxy.
package basic

import (
	"context"
	"errors"
)

// ErrNegative is registered by the generated init.
var ErrNegative = errors.New("basic: negative")

// errPrivate is not registered: it is not exported.
var errPrivate = errors.New("basic: private")

// Counter counts.
//
//mgr:expose serialized
type Counter struct{ n int }

// NewCounter is found by convention.
func NewCounter(start int) (*Counter, error) {
	if start < 0 {
		return nil, ErrNegative
	}
	return &Counter{n: start}, nil
}

// Add adds n.
func (c *Counter) Add(n int) int { c.n += n; return c.n }

// Get returns the value.
func (c *Counter) Get(ctx context.Context) (int, error) { return c.n, ctx.Err() }

// Fork returns a new Counter.
func (c *Counter) Fork() *Counter { return &Counter{n: c.n} }

// Absorb adds other's value.
func (c *Counter) Absorb(other *Counter) { c.n += other.n }

// Reset has no arguments and no results.
func (c *Counter) Reset() { c.n = 0 }

func (c *Counter) unexported() {}
