package templates

import _ "embed"

// PyModule is the text/template source of the Python module mgrgen writes beside a
// package's mgr_gen.go when the package serves types to CPython clients (python=): a
// BaseManager subclass registering the typeids, and one typed BaseProxy subclass per
// type. gen/pymodule.go fills it.
//
//go:embed pymodule.py.tmpl
var PyModule string
