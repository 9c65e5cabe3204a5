package mgr

import (
	"context"
	"fmt"
	"sync"

	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
)

// How CPython clients see Go types: the second front-end's dispatch table.
//
// CPython's manager protocol calls methods by name with pickled arguments and no types,
// so a type served to Python clients has a Python face beside its Go one: a PyType names
// the methods a CPython proxy calls (DictProxy's __getitem__, AutoProxy's put, ...) and
// runs each on the Go object with decoded pickle values. Objects live in the one table,
// whichever front-end made them: a Queue a Python client created is the Go object a Go
// client reaches by name, and the other way round.

// PyMethod runs one method for a CPython client. args and kwds are decoded pickle values
// (see package pickle for the mapping; kwds may be nil). The result is pickled back. An
// error that is a *pickle.Exception reaches the Python caller as that exception (#ERROR:
// KeyError, queue.Empty, ...); any other error as multiprocessing's RemoteError with the
// error's text (#TRACEBACK).
type PyMethod func(ctx context.Context, obj any, args []any, kwds *pickle.Dict) (any, error)

// PyType is the Python face of a Go type.
type PyType struct {
	// TypeID is what a Python client passes to create (SyncManager's "dict", "Queue", or
	// a BaseManager.register name), unique among PyTypes registered with RegisterPython.
	TypeID string
	// GoTypeID is the registered TypeDesc (see Register) of the objects this PyType
	// makes or reaches: they enter the table as that Go type, so Go clients can use them.
	GoTypeID string
	// New builds an object from create's arguments. Nil means Python clients cannot
	// create the type; Server.SharePython can still give them a named object.
	New func(ctx context.Context, args []any, kwds *pickle.Dict) (any, error)
	// Exposed lists the method names create's reply carries, in order: AutoProxy turns
	// each into a proxy method, so each must be a Python identifier for such typeids.
	Exposed []string
	// Methods runs the exposed methods by name. A name missing here is refused, as
	// CPython refuses a name missing from exposed.
	Methods map[string]PyMethod
	// MethodToTypeID names, for methods that return a new shared object, its PyType's
	// TypeID (dict's __iter__ gives an "Iterator"): the reply is a #PROXY.
	MethodToTypeID map[string]string
	// Repr answers str(proxy) and repr(proxy) (CPython's __str__/__repr__ fallback); nil
	// gives "<TypeID object>".
	Repr func(obj any) string
	// Value answers proxy._getvalue() (#GETVALUE): the referent as a Python value; nil
	// refuses it.
	Value func(obj any) (any, error)
}

var pyTypes struct {
	sync.RWMutex
	byID map[string]*PyType
	// byGo holds, for each Go TypeID, the PyType of the least TypeID registered for it:
	// pythonFaceOf answers from it on every call to an object a Go client made.
	byGo map[string]*PyType
}

// RegisterPython makes a PyType known to this process: any manager serving Python
// clients (Server.ServePython) lets them create it by its TypeID. Like Register, it is
// meant for init functions; registering a TypeID twice panics.
func RegisterPython(t *PyType) {
	if t == nil || t.TypeID == "" || t.GoTypeID == "" {
		panic("mgr: RegisterPython needs a PyType with a TypeID and a GoTypeID")
	}
	for _, name := range t.Exposed {
		if t.Methods[name] == nil && t.MethodToTypeID[name] == "" {
			panic(fmt.Sprintf("mgr: RegisterPython %s: exposed method %q has no PyMethod", t.TypeID, name))
		}
	}
	pyTypes.Lock()
	defer pyTypes.Unlock()
	if pyTypes.byID == nil {
		pyTypes.byID = map[string]*PyType{}
	}
	if _, ok := pyTypes.byID[t.TypeID]; ok {
		panic(fmt.Sprintf("mgr: Python typeid %s registered twice", t.TypeID))
	}
	pyTypes.byID[t.TypeID] = t
	if pyTypes.byGo == nil {
		pyTypes.byGo = map[string]*PyType{}
	}
	if cur := pyTypes.byGo[t.GoTypeID]; cur == nil || t.TypeID < cur.TypeID {
		pyTypes.byGo[t.GoTypeID] = t
	}
}

// LookupPython returns the PyType registered as typeID, or nil.
func LookupPython(typeID string) *PyType {
	pyTypes.RLock()
	defer pyTypes.RUnlock()
	return pyTypes.byID[typeID]
}

// pythonFaceOf returns the first registered PyType (by TypeID) whose Go type is goTypeID,
// for an object a Go client made that reaches a Python client.
func pythonFaceOf(goTypeID string) *PyType {
	pyTypes.RLock()
	defer pyTypes.RUnlock()
	return pyTypes.byGo[goTypeID]
}

// pyShared is a typeid that gives Python clients a named object (Python's
// register('get_queue', callable=lambda: queue)).
type pyShared struct {
	name string
	face *PyType
}

// SharePython lets CPython clients reach the named object name (see AddNamed) by
// creating typeID, as a Python BaseManager serves register('get_queue', callable=lambda:
// queue): every create returns the same object, which a Go client reaches with Lookup.
// face is the object's Python face, nil for the one registered for its Go type;
// a face of its own restricts the exposed methods (the TypeID in it is ignored).
func (s *Server) SharePython(typeID, name string, face *PyType) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.named[name]
	if !ok {
		return fmt.Errorf("mgr: SharePython %s: no named object %q (AddNamed it first)", typeID, name)
	}
	obj := s.objects[id]
	if face == nil {
		face = pythonFaceOf(obj.desc.TypeID)
		if face == nil {
			return fmt.Errorf("mgr: SharePython %s: no Python face registered for %s (RegisterPython, or pass one)", typeID, obj.desc.TypeID)
		}
	}
	py := s.pyLocked()
	if _, ok := py.shared[typeID]; ok {
		return fmt.Errorf("mgr: SharePython: typeid %s is shared already", typeID)
	}
	py.shared[typeID] = pyShared{name: name, face: face}
	obj.py = face
	return nil
}
