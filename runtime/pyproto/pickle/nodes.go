package pickle

// Internal values that exist only while decoding (and inside Opaque bodies). Mutable
// Python objects are pointers so that memo references and APPEND/SETITEM/BUILD see one
// object; Decode converts them to the public types at the end (finalize).

// listNode is a list under construction.
type listNode struct {
	items  []any
	frozen bool // captured into a canonical encoding; a later APPEND means a cycle
}

// setNode is a set under construction; members are already hashable public values.
type setNode struct {
	m      Set
	frozen bool
}

// globalRef is a reference to a module-level name (STACK_GLOBAL/GLOBAL). It is inert:
// nothing is imported or looked up.
type globalRef struct{ module, name string }

// objNode is an object outside the allow-list: how it was constructed and what was
// done to it afterwards, kept to be written back as the same opcodes.
type objNode struct {
	kind   byte // opReduce, opNewobj or opNewobjEx
	fn     any  // the callable or class, usually a globalRef
	args   any  // a Tuple
	kwargs any  // NEWOBJ_EX only
	ops    []objOp
	frozen bool
}

// objOp is a BUILD (a = state), APPEND (a = item) or SETITEM (a = key, b = value) applied
// to an objNode.
type objOp struct {
	op   byte
	a, b any
}

// tokenNode is a multiprocessing.managers.Token between NEWOBJ and BUILD.
type tokenNode struct {
	tok    Token
	frozen bool
}

const managersModule = "multiprocessing.managers"
