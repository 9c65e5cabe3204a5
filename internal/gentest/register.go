package gentest

import (
	"github.com/mgr-go/mgr/internal/gentest/geo"
	"github.com/mgr-go/mgr/internal/gentest/shapes"
)

// The instantiations of Box and shapes.Cell the tests use; registration must run in every
// process.
func init() {
	RegisterBox[int]()
	RegisterBox[string]()
	RegisterBox[geo.Point]()
	shapes.RegisterCell[float64]()
}
