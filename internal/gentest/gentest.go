// Package gentest holds exposed types that exercise mgrgen's features end to end: its
// tests create them in a real manager and call them through the generated proxies. The
// generated mgr_gen.go is committed and must stay current (mgrgen -check).
package gentest

//go:generate go tool mgrgen

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/mgr-go/mgr/internal/gentest/geo"
)

// Sentinel errors; the generated init registers them, so errors.Is works on the client.
var (
	ErrTooBig = errors.New("gentest: too big")
	ErrEmpty  = errors.New("gentest: empty")
)

// Counter is a counter with a limit.
//
//mgr:expose serialized
type Counter struct {
	mu sync.Mutex
	n  int
}

// NewCounter is Counter's constructor by convention.
func NewCounter(start int) *Counter { return &Counter{n: start} }

// Add adds n and returns the new value; it refuses to go past 1000 with ErrTooBig.
func (c *Counter) Add(n int) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n+n > 1000 {
		return c.n, ErrTooBig
	}
	c.n += n
	return c.n, nil
}

// Get returns the value.
func (c *Counter) Get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// Reset sets the value to zero.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n = 0
}

// Wait waits for d or for ctx to end, and says which came first.
func (c *Counter) Wait(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Child returns a new Counter: the client gets a proxy to it.
func (c *Counter) Child(start int) *Counter { return NewCounter(start) }

// None returns no Counter: the client gets a nil proxy.
func (c *Counter) None() *Counter { return nil }

// Merge adds other's value to c's: the client passes a proxy, the method gets the
// Counter itself.
func (c *Counter) Merge(other *Counter) (int, error) {
	if other == nil {
		return 0, ErrEmpty
	}
	return c.Add(other.Get())
}

// Pair is the seed scenario: only GetX is exposed, so SetX cannot be called remotely.
//
//mgr:expose methods=GetX
type Pair struct {
	X, Y int
}

// NewPair makes a Pair; negative coordinates are an error.
func NewPair(x, y int) (*Pair, error) {
	if x < 0 || y < 0 {
		return nil, errors.New("gentest: negative coordinate")
	}
	return &Pair{X: x, Y: y}, nil
}

// GetX returns X.
func (p *Pair) GetX() int { return p.X }

// GetY returns Y.
func (p *Pair) GetY() int { return p.Y }

// SetX sets X.
func (p *Pair) SetX(x int) { p.X = x }

// SetY sets Y.
func (p *Pair) SetY(y int) { p.Y = y }

// Box holds one value of any type.
//
//mgr:expose
type Box[T any] struct {
	mu  sync.Mutex
	v   T
	set bool
}

// NewBox makes a Box holding v.
func NewBox[T any](v T) *Box[T] { return &Box[T]{v: v, set: true} }

// Get returns the value, or ErrEmpty after Clear.
func (b *Box[T]) Get() (T, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.set {
		var zero T
		return zero, ErrEmpty
	}
	return b.v, nil
}

// Swap stores v and returns the previous value.
func (b *Box[T]) Swap(v T) T {
	b.mu.Lock()
	defer b.mu.Unlock()
	old := b.v
	b.v, b.set = v, true
	return old
}

// Clear empties the box.
func (b *Box[T]) Clear() {
	b.mu.Lock()
	defer b.mu.Unlock()
	var zero T
	b.v, b.set = zero, false
}

// Clone returns a new Box with the same value: a generic proxy result.
func (b *Box[T]) Clone() *Box[T] {
	b.mu.Lock()
	defer b.mu.Unlock()
	return &Box[T]{v: b.v, set: b.set}
}

// Registry maps names to points of another package. It does its own locking, so it is
// exposed as concurrent.
//
//mgr:expose concurrent
type Registry struct {
	mu     sync.Mutex
	points map[string]geo.Point
}

// NewRegistry makes an empty Registry.
func NewRegistry() *Registry { return &Registry{points: map[string]geo.Point{}} }

// Put stores p under name.
func (r *Registry) Put(name string, p geo.Point) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.points[name] = p
}

// Get returns the point under name.
func (r *Registry) Get(name string) (geo.Point, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.points[name]
	return p, ok
}

// All returns a copy of every point.
func (r *Registry) All() map[string]geo.Point {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]geo.Point, len(r.points))
	for k, v := range r.points {
		out[k] = v
	}
	return out
}

// Names returns the names, sorted.
func (r *Registry) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var names []string
	for k := range r.points {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// Nearest returns the point nearest to p, or nil when the registry is empty: a pointer
// to a plain struct travels as a copy.
func (r *Registry) Nearest(p *geo.Point) *geo.Point {
	r.mu.Lock()
	defer r.mu.Unlock()
	var best *geo.Point
	bestD := 0.0
	for _, q := range r.points {
		d := (q.X-p.X)*(q.X-p.X) + (q.Y-p.Y)*(q.Y-p.Y)
		if best == nil || d < bestD {
			q := q
			best, bestD = &q, d
		}
	}
	return best
}
