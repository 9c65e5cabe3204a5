package pysync

import (
	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// Types lists the Python faces this package registers, by typeid.
func Types() []*mgr.PyType {
	return []*mgr.PyType{dictType, listType, newQueue("Queue"), newQueue("JoinableQueue"),
		lockType, rlockType, semaphoreType, boundedSemaphoreType, conditionType, eventType,
		barrierType, namespaceType, valueType, arrayType, iteratorType, setType}
}

func init() {
	// The Go instantiations behind the Python typeids, so Go clients reach the same
	// objects (syncmgr.DictProxy[any, any], ...).
	syncmgr.RegisterDict[any, any]()
	syncmgr.RegisterValue[any]()
	syncmgr.RegisterArray[any]()
	syncmgr.RegisterSet[any]()
	// Python values travel inside interfaces as their pickle (runtime/mgr/codec_opaque.go);
	// this registration still reads pickle.Bytes from peers built before that.
	mgr.RegisterValue[pickle.Bytes]()
	mgr.Register(&mgr.TypeDesc{TypeID: "pysync.Iterator"})
	for _, t := range Types() {
		mgr.RegisterPython(t)
	}
}
