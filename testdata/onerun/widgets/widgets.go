// Package widgets exposes a type and has no generated mgr_gen.go: package user can only
// take *Widget as a proxy when both are generated in one run.
package widgets

// Widget counts.
//
//mgr:expose
type Widget struct{ n int }

// Inc increments and returns the count.
func (w *Widget) Inc() int { w.n++; return w.n }
