// ERROR: 13:14: unknown option "bogus" in //mgr:expose
// ERROR: 20:25: option concurrent given twice
// ERROR: 27:14: option typeid needs a value: typeid=...
// ERROR: 34:14: option concurrent takes no value
// ERROR: 41:1: use methods= or hide=, not both
// ERROR: 49:14: nocreate and constructor= contradict each other
// ERROR: 57:24: "" is not a method name
// ERROR: 65:26: constructor=1x: not a function name
package options

// A has an unknown option and a good one; both are read.
//
//mgr:expose bogus concurrent
type A struct{}

func (*A) M() {}

// B repeats an option.
//
//mgr:expose concurrent concurrent
type B struct{}

func (*B) M() {}

// C misses a value.
//
//mgr:expose typeid=
type C struct{}

func (*C) M() {}

// D gives a flag a value.
//
//mgr:expose concurrent=yes
type D struct{}

func (*D) M() {}

// E uses both lists.
//
//mgr:expose methods=M hide=N
type E struct{}

func (*E) M() {}
func (*E) N() {}

// F contradicts itself.
//
//mgr:expose nocreate constructor=NewF
type F struct{}

func NewF() *F { return nil }
func (*F) M()  {}

// G has an empty name in its list.
//
//mgr:expose methods=M,,N
type G struct{}

func (*G) M() {}
func (*G) N() {}

// H names no function.
//
//mgr:expose constructor=1x
type H struct{}

func (*H) M() {}
