package gentest

import (
	"context"
	"errors"
	"testing"

	"github.com/mgr-go/mgr/internal/gentest/shapes"
)

// The proxy methods of Frame take and return the proxies of package shapes: a *shapes.Rect
// parameter is not carried as a copy of a Rect.
var (
	_ func(*FrameProxy, context.Context, *shapes.RectProxy) (*shapes.RectProxy, error)                   = (*FrameProxy).Put
	_ func(*FrameProxy, context.Context, *shapes.RectProxy, float64) error                               = (*FrameProxy).Widen
	_ func(*FrameProxy, context.Context, *shapes.CellProxy[float64]) (*shapes.CellProxy[float64], error) = (*FrameProxy).Measure
)

// size returns r's size through its proxy.
func size(t *testing.T, r *shapes.RectProxy) [2]float64 {
	t.Helper()
	w, h, err := r.Size(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return [2]float64{w, h}
}

// TestCrossPackageProxies checks that a pointer to another package's exposed type
// travels as a proxy both ways: the method works on the caller's object, and a returned
// object is a working proxy of that package.
func TestCrossPackageProxies(t *testing.T) {
	ctx := context.Background()
	_, c := startManager(t)
	f := must[*FrameProxy](t)(CreateFrame(ctx, c))
	r := must[*shapes.RectProxy](t)(shapes.CreateRect(ctx, c, 2, 3))

	// The method receives the referent: what it does to it shows through r.
	if err := f.Widen(ctx, r, 5); err != nil {
		t.Fatal(err)
	}
	if got, want := size(t, r), [2]float64{7, 3}; got != want {
		t.Errorf("after Widen(r, 5): r.Size = %v, want %v (the method got a copy?)", got, want)
	}
	if err := f.Widen(ctx, nil, 1); !errors.Is(err, ErrEmpty) {
		t.Errorf("Widen(nil) error = %v, want ErrEmpty", err)
	}

	// A nil *shapes.Rect result is a nil proxy.
	if prev := must[*shapes.RectProxy](t)(f.Put(ctx, r)); prev != nil {
		t.Errorf("first Put returned %v, want a nil proxy", prev)
	}
	// A returned *shapes.Rect is a working *shapes.RectProxy, to the object itself: a
	// change through it shows through r, and one through r shows through it.
	other := must[*shapes.RectProxy](t)(shapes.CreateRect(ctx, c, 1, 1))
	back := must[*shapes.RectProxy](t)(f.Put(ctx, other))
	if back == nil {
		t.Fatal("second Put returned a nil proxy, want one to r's rectangle")
	}
	if got, want := size(t, back), [2]float64{7, 3}; got != want {
		t.Errorf("returned proxy: Size = %v, want %v", got, want)
	}
	if err := back.Grow(ctx, 0, 10); err != nil {
		t.Fatal(err)
	}
	if got, want := size(t, r), [2]float64{7, 13}; got != want {
		t.Errorf("after Grow through the returned proxy: r.Size = %v, want %v", got, want)
	}
	if err := r.Grow(ctx, 1, 0); err != nil {
		t.Fatal(err)
	}
	if got, want := size(t, back), [2]float64{8, 13}; got != want {
		t.Errorf("after Grow through r: returned proxy's Size = %v, want %v", got, want)
	}
	// Releasing one proxy leaves the object to the others.
	if err := back.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := size(t, r), [2]float64{8, 13}; got != want {
		t.Errorf("after releasing the returned proxy: r.Size = %v, want %v", got, want)
	}

	// A generic exposed type of another package: *shapes.Cell[float64] both ways.
	cell := must[*shapes.CellProxy[float64]](t)(shapes.CreateCell[float64](ctx, c, 0))
	got := must[*shapes.CellProxy[float64]](t)(f.Measure(ctx, cell)) // other (1×1) is framed
	if got == nil {
		t.Fatal("Measure returned a nil proxy")
	}
	if v := must[float64](t)(cell.Get(ctx)); v != 1 {
		t.Errorf("after Measure: cell.Get = %v, want 1 (the method got a copy?)", v)
	}
	if err := got.Set(ctx, 42); err != nil {
		t.Fatal(err)
	}
	if v := must[float64](t)(cell.Get(ctx)); v != 42 {
		t.Errorf("after Set through the returned proxy: cell.Get = %v, want 42", v)
	}
	empty := must[*FrameProxy](t)(CreateFrame(ctx, c))
	if none := must[*shapes.CellProxy[float64]](t)(empty.Measure(ctx, cell)); none != nil {
		t.Errorf("Measure on an empty frame returned %v, want a nil proxy", none)
	}
}
