package gentest

import (
	"sync"

	"github.com/mgr-go/mgr/internal/gentest/shapes"
)

// Frame holds a rectangle of package shapes. Pointers to shapes' exposed types cross the
// wire as proxies of that package (*shapes.RectProxy, *shapes.CellProxy[int]), so its
// methods work on the caller's objects, not on copies of them.
//
//mgr:expose
type Frame struct {
	mu   sync.Mutex
	rect *shapes.Rect
}

// Put frames r, which may be nil, and returns the rectangle framed before (nil at
// first): the caller's proxy and the returned one name the manager's objects themselves.
func (f *Frame) Put(r *shapes.Rect) *shapes.Rect {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.rect
	f.rect = r
	return old
}

// Widen grows r by dw in width, in the manager: the caller sees the change through its
// own proxy to r.
func (f *Frame) Widen(r *shapes.Rect, dw float64) error {
	if r == nil {
		return ErrEmpty
	}
	r.Grow(dw, 0)
	return nil
}

// Measure stores the framed rectangle's width in cell and returns cell, or returns nil
// without storing anything when no rectangle is framed: a generic exposed type of another
// package.
func (f *Frame) Measure(cell *shapes.Cell[float64]) *shapes.Cell[float64] {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rect == nil {
		return nil
	}
	w, _ := f.rect.Size()
	cell.Set(w)
	return cell
}
