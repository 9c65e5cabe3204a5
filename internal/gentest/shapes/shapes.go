// Package shapes holds exposed types that package gentest's exposed methods take and
// return: pointers to them cross the wire as proxies of this package, not as copies.
package shapes

//go:generate go tool mgrgen

import "sync"

// Rect is a rectangle that can be resized in place.
//
//mgr:expose
type Rect struct {
	mu   sync.Mutex
	w, h float64
}

// NewRect makes a width×height rectangle.
func NewRect(width, height float64) *Rect { return &Rect{w: width, h: height} }

// Size returns the width and height.
func (r *Rect) Size() (w, h float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.w, r.h
}

// Grow adds dw to the width and dh to the height.
func (r *Rect) Grow(dw, dh float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.w += dw
	r.h += dh
}

// Cell holds one value: a generic exposed type for other packages' signatures.
//
//mgr:expose
type Cell[T any] struct {
	mu sync.Mutex
	v  T
}

// NewCell makes a Cell holding v.
func NewCell[T any](v T) *Cell[T] { return &Cell[T]{v: v} }

// Get returns the value.
func (c *Cell[T]) Get() T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.v
}

// Set stores v.
func (c *Cell[T]) Set(v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.v = v
}
