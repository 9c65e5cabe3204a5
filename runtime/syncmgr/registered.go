package syncmgr

// The instantiations of the generic types that every program gets, registered in every
// process that links this package (the manager child too: it is the same binary). For
// any other, call the generated RegisterX from an init function of your own, e.g.
//
//	func init() {
//		syncmgr.RegisterDict[string, float64]()
//		syncmgr.RegisterQueue[MyJob]()
//		syncmgr.RegisterDict[string, *syncmgr.ListProxy[int]]() // a Dict of Lists
//	}
//
// A Create call for an unregistered instantiation fails with mgr.ErrUnknownType, naming
// the TypeID the manager does not know.
func init() {
	RegisterDict[string, int]()
	RegisterDict[string, any]()
	RegisterDict[string, string]()
	RegisterDict[string, float64]()
	RegisterList[int]()
	RegisterList[string]()
	RegisterList[any]()
	RegisterList[float64]()
	RegisterQueue[int]()
	RegisterQueue[string]()
	RegisterQueue[any]()
	RegisterQueue[[]byte]()
	RegisterValue[int]()
	RegisterValue[int64]()
	RegisterValue[float64]()
	RegisterValue[string]()
	RegisterValue[bool]()
	RegisterArray[int]()
	RegisterArray[float64]()
	RegisterSet[string]()
	RegisterSet[int]()
}
