// Package nogen marks a type //mgr:expose but has no generated mgr_gen.go: another
// package's signatures must not carry it as a copy.
package nogen

// Widget is exposed, but nothing was generated for it.
//
//mgr:expose
type Widget struct{ n int }

// Inc increments.
func (w *Widget) Inc() { w.n++ }

// Plain is not exposed: pointers to it are copies.
type Plain struct{ N int }
