// Package widgets exposes a type and has no generated mgr_gen.go: package user takes
// *Widget as a proxy all the same, generated alone or with widgets in one run.
package widgets

// Widget counts.
//
//mgr:expose
type Widget struct{ n int }

// Inc increments and returns the count.
func (w *Widget) Inc() int { w.n++; return w.n }
