// Package crosspkg takes and returns pointers to exposed types of another package,
// which travel as that package's proxies, and a pointer to a plain struct of another
// package, which travels as a copy.
package crosspkg

import (
	"github.com/mgr-go/mgr/internal/gentest/geo"
	"github.com/mgr-go/mgr/internal/gentest/shapes"
)

// Rect is an alias of another package's exposed type: *Rect is a proxy too.
type Rect = shapes.Rect

// Holder holds a rectangle of package shapes.
//
//mgr:expose
type Holder struct{ r *shapes.Rect }

// Swap stores r and returns the rectangle stored before.
func (h *Holder) Swap(r *shapes.Rect) (*shapes.Rect, error) { old := h.r; h.r = r; return old, nil }

// Aliased takes the alias.
func (h *Holder) Aliased(r *Rect) *Rect { return r }

// Label takes a generic exposed type of another package, instantiated.
func (h *Holder) Label(c *shapes.Cell[string]) *shapes.Cell[string] { return c }

// Copy takes a plain struct of another package: it is carried as a value.
func (h *Holder) Copy(p *geo.Point) *geo.Point { return p }

// Pot is generic: its type parameter instantiates another package's generic exposed type.
//
//mgr:expose
type Pot[T any] struct{}

// Fill returns c.
func (p *Pot[T]) Fill(c *shapes.Cell[T]) *shapes.Cell[T] { return c }
