// ERROR: 14:1: //mgr:expose on func F: it belongs in the doc comment of a struct type
// ERROR: 19:1: //mgr:expose on N: only struct types can be exposed
// ERROR: 24:1: misplaced //mgr:expose: it belongs in the doc comment of a struct type
// ERROR: 27:1: unknown directive //mgr:exposed (mgrgen knows //mgr:expose)
// ERROR: 35:1: second //mgr:expose on Twice: put all options on one line
// ERROR: 42:1: misplaced //mgr:expose: it belongs in the doc comment of a struct type
// ERROR: 51:6: exposed type lower is not exported: its proxy could not be used from other
// ERROR: 57:1: //mgr:expose on Alias: only struct types can be exposed
// ERROR: 62:1: NoMethods exposes no methods: give it exported methods, or fix
package placement

// F is a func.
//
//mgr:expose
func F() {}

// N is not a struct.
//
//mgr:expose
type N int

// X is a variable.
//
//mgr:expose
var X = 1

//mgr:exposed
type Typo struct{}

func (*Typo) M() {}

// Twice has two directives.
//
//mgr:expose
//mgr:expose concurrent
type Twice struct{}

func (*Twice) M() {}

// The directive on a group of types is misplaced: it must be on one of them.
//
//mgr:expose
type (
	G1 struct{}
	G2 struct{}
)

// lower is not exported.
//
//mgr:expose
type lower struct{}

func (*lower) M() {}

// Alias is an alias.
//
//mgr:expose
type Alias = Twice

// NoMethods has nothing to expose.
//
//mgr:expose
type NoMethods struct{}

func (*NoMethods) unexported() {}
