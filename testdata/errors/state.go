// ERROR: 6:26: methods=MgrState: MgrState describes the object's state to the manager
package state

// F names MgrState, which the manager calls itself and never exposes.
//
//mgr:expose methods=Get,MgrState
type F struct{}

func (*F) Get() int { return 0 }

func (*F) MgrState() struct{} { return struct{}{} }
