package mgr

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// SupportPackageIsVersion1 is referenced by generated code: a build that pairs generated
// code with a runtime that no longer supports its version fails to compile, with the name
// of this constant in the message. Regenerate with the matching mgrgen to fix it.
const SupportPackageIsVersion1 = true

// SupportPackageIsVersion2 is referenced by code generated for version 2 of the
// contract, which adds CreateTPipelined (Client.CreatePipelined). Version 1 code still
// compiles.
const SupportPackageIsVersion2 = true

// GeneratorVersion is the version of the generated-code contract this runtime speaks.
const GeneratorVersion = 2

// TypeDesc describes an exposed type to the runtime: how to construct it and how to call
// its exposed methods. mgrgen writes one per exposed type; hand-written ones follow the
// same rules.
type TypeDesc struct {
	// TypeID names the type on the wire, usually "import/path.Name" (with type arguments
	// for instances of generic types). It must be the same in every process.
	TypeID string
	// New decodes constructor arguments and builds a new object. A nil New means clients
	// cannot create the type; the manager can still own named instances of it.
	New func(ctx context.Context, args *Decoder) (any, error)
	// InlineNew is Method.Inline for New: the manager may run it where it reads the
	// create call. mgrgen sets it when the constructor takes no context.Context.
	InlineNew bool
	// Methods is the dispatch table; a call names a method by its index in the manager's
	// table (clients learn it by name, see Method.Name). Only methods in the table can be
	// reached.
	Methods []Method
	// Serialized makes the runtime run at most one method of an object at a time. Types
	// that do their own locking (and every type with blocking methods) leave it false.
	Serialized bool
}

// Method is one exposed method in a dispatch table.
type Method struct {
	// Name is the Go method name: clients bind to the manager's methods by it (a call
	// names the manager's index, learnt once per type and session), and tools call by it.
	Name string
	// Sig is the method's signature as the wire sees it — parameter and result types with
	// their package paths, without the context and the error, e.g. "func(int) string" —
	// so that a client built from another version of the type gets ErrSignature, not a
	// misread call. mgrgen writes it; empty matches any signature (bound by name only).
	Sig string
	// Call decodes the arguments from args, calls the method on obj (the concrete type the
	// TypeDesc built) and encodes its results into res. A returned error travels to the
	// caller as the call's error.
	Call func(ctx context.Context, obj any, args *Decoder, res *Encoder) error
	// Inline lets the manager run the method in the goroutine that read the call,
	// saving a hand-off to another goroutine (a third of a small call's latency). mgrgen
	// sets it for methods that take no context.Context: they cannot be cancelled, so
	// nothing is lost while the session's Cancel frames wait. An Inline call of a
	// Serialized type whose object is busy waits in a worker instead, and so do the calls
	// of a method that keeps the reader over 100 µs on average — unless its session makes
	// one call at a time, where nobody waits behind it (sequential.go). A method that runs
	// longer than 50–100 ms makes the manager hand reading to a new goroutine, so a slow
	// or blocking Inline method delays its session's other calls by that much at most;
	// methods that may block should take a context (mgrgen then leaves Inline false).
	Inline bool
	// InlineSequential, with Inline, runs the method in the reader only while its session
	// makes one call at a time, however short its calls: for a method that waits on I/O
	// every call (a store's round trip), which would hold a concurrent session's other
	// calls behind it though it keeps the CPU for microseconds.
	InlineSequential bool
	// TakesContext says the method takes a context.Context. An Inline method that does
	// gets its own, like any other call (the caller's deadline, ended by a Cancel), and
	// must call Blocking(ctx) before it waits; one that does not runs under the session's.
	TakesContext bool
}

// MethodIndex returns the index of the method called name, or -1.
func (t *TypeDesc) MethodIndex(name string) int {
	for i, m := range t.Methods {
		if m.Name == name {
			return i
		}
	}
	return -1
}

// types is the registration table of exposed types, filled from init functions.
var types struct {
	sync.RWMutex
	byID map[string]*TypeDesc
}

// Register makes an exposed type known to this process. Generated code calls it from
// init; register every type in both the manager and its clients (a child-process manager
// re-executes the same binary, so init covers both). Registering the same TypeID twice
// with a different description panics: it is a programming error.
func Register(t *TypeDesc) {
	if t == nil || t.TypeID == "" {
		panic("mgr: Register needs a TypeDesc with a TypeID")
	}
	for i, m := range t.Methods {
		if m.Call == nil || m.Name == "" {
			panic(fmt.Sprintf("mgr: Register %s: method %d has no name or no Call", t.TypeID, i))
		}
	}
	types.Lock()
	defer types.Unlock()
	if types.byID == nil {
		types.byID = map[string]*TypeDesc{}
	}
	if old, ok := types.byID[t.TypeID]; ok && old != t {
		// Generic instantiations may be registered from several places; accept an
		// identical method list.
		if !sameMethods(old, t) {
			panic(fmt.Sprintf("mgr: type %s registered twice with different methods", t.TypeID))
		}
		return
	}
	types.byID[t.TypeID] = t
}

func sameMethods(a, b *TypeDesc) bool {
	if len(a.Methods) != len(b.Methods) {
		return false
	}
	for i := range a.Methods {
		if a.Methods[i].Name != b.Methods[i].Name || a.Methods[i].Sig != b.Methods[i].Sig {
			return false
		}
	}
	return true
}

// LookupType returns the registered description of typeID, or nil.
func LookupType(typeID string) *TypeDesc {
	types.RLock()
	defer types.RUnlock()
	return types.byID[typeID]
}

// lookupTypeBytes is LookupType for a name still in a frame: the map index converts it
// without allocating.
func lookupTypeBytes(typeID []byte) *TypeDesc {
	types.RLock()
	defer types.RUnlock()
	return types.byID[string(typeID)]
}

// RegisteredTypes returns the TypeIDs registered in this process, sorted.
func RegisteredTypes() []string {
	types.RLock()
	defer types.RUnlock()
	ids := make([]string, 0, len(types.byID))
	for id := range types.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
