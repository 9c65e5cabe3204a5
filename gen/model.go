package gen

import (
	"go/token"
	"go/types"
)

// pkgModel is what the emitter needs to write one package's output file: the exposed
// types and the sentinel errors to register, all in a deterministic order.
type pkgModel struct {
	path string // import path
	name string // package name

	types     []*exposedType // sorted by name
	sentinels []string       // exported Err* variables, sorted
}

// exposedType is one //mgr:expose struct. An exposed type of a dependency, known only as
// the target of a proxy parameter or result (see universe), has name, obj, named and
// tparams only: the output refers to its XProxy and XTypeID by name.
type exposedType struct {
	name    string
	obj     *types.TypeName
	named   *types.Named         // the declared (uninstantiated, for generics) type
	tparams *types.TypeParamList // nil unless generic
	typeID  string               // the TypeID, or for a generic type its prefix before "[...]"
	doc     string               // the type's doc comment text, for the Python proxy class's

	// ctor is the constructor (Python's callable); nil means new(T).
	ctor         *types.Func
	ctorCtx      bool     // ctor takes context.Context first
	ctorParams   []*value // ctor's parameters after the optional ctx
	ctorErr      bool     // ctor returns (*T, error)
	ctorVariadic bool
	noCreate     bool // no creator; TypeDesc.New is nil

	concurrent bool
	inline     bool // methods taking a context run inline too (mgr.Blocking)

	// python is the Python typeid (python=): the type is registered for CPython clients
	// with mgr.MustPyType; pyNames maps Go method names to their Python names where
	// pyname= overrides the snake_case default.
	python  string
	pyNames map[string]string
	methods []*method // sorted by name; index = dispatch index

	// getValue is the proxy's GetValue (Python's _getvalue()), the last entry of the
	// dispatch table after methods; nil when the type does not get one (see getValue).
	getValue *method
}

// generic reports whether the type has type parameters.
func (t *exposedType) generic() bool { return t.tparams != nil && t.tparams.Len() > 0 }

// method is one exposed method.
type method struct {
	name     string // the Go method's name, also its name in the dispatch table
	proxy    string // the proxy method's name: name, unless rename= says otherwise
	doc      string // the method's doc comment text, for the proxy method's
	fn       *types.Func
	sig      *types.Signature
	ctx      bool     // first parameter is context.Context: it receives the server's ctx
	params   []*value // parameters after the optional ctx
	variadic bool     // the last parameter is ...T (carried as []T)
	results  []*value // results before the optional trailing error
	err      bool     // the last result is error: it becomes the call's error
	// copy marks the generated GetValue: fn is nil, and the dispatch encodes the object.
	copy bool
}

// value is a parameter or result and how it crosses the wire.
type value struct {
	name string // the source name, "" if none
	typ  types.Type
	pos  token.Pos
	wire wire
}

// wireKind says which Encoder/Decoder methods carry a value.
type wireKind int

const (
	wireValue    wireKind = iota // Encoder.Value / Decoder.Value (reflection codec)
	wireBool                     // Bool
	wireInt                      // Int64 / IntN / Int
	wireUint                     // Uint64 / UintN
	wireFloat64                  // Float64
	wireFloat32                  // Float32
	wireComplex                  // Complex128 (complex64 widened)
	wireString                   // String
	wireBytes                    // ByteSlice
	wireTime                     // Time
	wireDuration                 // Duration
	wireError                    // Error: an error carried as data
	wireProxy                    // a pointer to an exposed type: Ref/Referent, Object/Handle
)

// wire is how one value is carried.
type wire struct {
	kind wireKind
	// bits is the size for IntN/UintN: 8, 16, 32, 64, or 0 for int, uint and uintptr,
	// whose size is the platform's.
	bits int
	// basic is the basic type the Encoder/Decoder method speaks, for the conversions
	// around named types (type Celsius float64).
	basic *types.Basic
	// target is the exposed type a wireProxy value points to, of this package or
	// another, and targs its type arguments when that type is generic.
	target *exposedType
	targs  []types.Type
}
