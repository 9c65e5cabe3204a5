// ERROR: 19:18: parameter rs of S.Nested has type []*shapes.Rect: *shapes.Rect is an exposed type: it travels
// ERROR: 20:25: parameter m of S.NestedGeneric has type map[string]*shapes.Cell[int]: *shapes.Cell is an exposed type
// ERROR: 21:25: parameter ws of S.NestedUnready has type []*nogen.Widget: *nogen.Widget is an exposed type: it travels
package crosspkg

import (
	"github.com/mgr-go/mgr/internal/gentest/shapes"
	"github.com/mgr-go/mgr/testdata/errors/deps/nogen"
)

// S uses exposed types of other packages where they cannot travel as proxies.
//
//mgr:expose
type S struct{}

func (*S) Fine(p *nogen.Plain, r *shapes.Rect)          {}
func (*S) Unready(w *nogen.Widget)                      {} // fine: nogen is of this module
func (*S) UnreadyResult() *nogen.Widget                 { return nil }
func (*S) Nested(rs []*shapes.Rect)                     {}
func (*S) NestedGeneric(m map[string]*shapes.Cell[int]) {}
func (*S) NestedUnready(ws []*nogen.Widget)             {}
