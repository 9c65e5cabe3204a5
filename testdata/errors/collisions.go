// ERROR: 13:6: AProxy is declared here and generated for exposed type A: rename it
// ERROR: 24:21: TypeID "same" of C is also the TypeID of B
package collisions

// A's proxy name is taken.
//
//mgr:expose
type A struct{}

func (*A) M() {}

// AProxy is the user's own type.
type AProxy struct{}

// B and C claim the same TypeID.
//
//mgr:expose typeid=same
type B struct{}

func (*B) M() {}

// C claims B's TypeID.
//
//mgr:expose typeid=same
type C struct{}

func (*C) M() {}
