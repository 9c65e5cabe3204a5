// Package nogen marks a type //mgr:expose but has no generated mgr_gen.go: another
// package's signatures must not carry it as a copy. Another package of this module takes
// *Widget as a proxy all the same (this module's go generate writes WidgetProxy); a
// package of another module cannot (cmd/mgrgen's TestUnreadyDependencyOfAnotherModule).
package nogen

// Widget is exposed, but nothing was generated for it.
//
//mgr:expose
type Widget struct{ n int }

// Inc increments.
func (w *Widget) Inc() { w.n++ }

// Plain is not exposed: pointers to it are copies.
type Plain struct{ N int }
