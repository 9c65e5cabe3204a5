package gentest

import "github.com/mgr-go/mgr/internal/gentest/geo"

// The instantiations of Box the tests use; registration must run in every process.
func init() {
	RegisterBox[int]()
	RegisterBox[string]()
	RegisterBox[geo.Point]()
}
