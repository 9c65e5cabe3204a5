package pickle

import (
	"fmt"
	"iter"
	"math/big"
)

// Bytes is a Python bytes object. It is a string type so that it is comparable (bytes
// are hashable in Python and may be dict keys); convert with []byte(b). Encode also
// accepts a plain []byte for bytes.
type Bytes string

// ByteArray is a Python bytearray (mutable, unhashable).
type ByteArray []byte

// BigInt is a Python int outside the int64 range. It is comparable (Python ints are
// hashable) and holds the value's canonical two's-complement little-endian bytes, the
// LONG1 payload; Big converts it. Encode also accepts *big.Int.
type BigInt struct{ le string }

// NewBigInt returns x as a BigInt (whatever its size; Decode only produces BigInt for
// values outside int64).
func NewBigInt(x *big.Int) BigInt { return BigInt{le: string(longBytes(x))} }

// Big returns the value as a new *big.Int.
func (b BigInt) Big() *big.Int { return decodeLong([]byte(b.le)) }

// String returns the value in decimal.
func (b BigInt) String() string { return b.Big().String() }

// Tuple is a Python tuple. A hashable tuple (one holding no list, dict, set, bytearray
// or array, directly or through other tuples) is comparable by content — equal tuples
// are == in Go and can be keys of Go maps — because it holds the canonical pickle
// encoding of its elements rather than the elements themselves; Elems and At decode them
// (each call returns fresh values). An unhashable tuple, which Python could never use as
// a key, holds its elements by reference and is == only to itself: Elems returns the
// elements themselves (a list in it is the same []any as wherever else the pickle
// referenced it, as in Python), and costs nothing however much its contents share.
// Build one with MakeTuple.
type Tuple struct {
	n   int
	enc string    // hashable: canonical pickle opcodes of the elements (see makeTuple)
	ref *tupleRef // unhashable: the elements (tupleref.go)
}

// MakeTuple returns the tuple of elems. When an element is unhashable (a list, dict, set,
// bytearray, array, any Go slice or map, or an unhashable tuple) the tuple keeps elems as
// given, by reference. Otherwise it fails if an element cannot be encoded, or if the
// tuple's canonical body (every element spelled out, shared parts included) would exceed
// DefaultLimits.MaxSize.
func MakeTuple(elems ...any) (Tuple, error) {
	t, err := makeTuple(elems, unlimited())
	if err != nil {
		return Tuple{}, fmt.Errorf("pickle: %w", err)
	}
	return t, nil
}

// MustTuple is MakeTuple for elements known to encode (Go literals); it panics otherwise.
func MustTuple(elems ...any) Tuple {
	t, err := MakeTuple(elems...)
	if err != nil {
		panic(err)
	}
	return t
}

// Len returns the number of elements.
func (t Tuple) Len() int { return t.n }

// Elems decodes and returns the elements.
func (t Tuple) Elems() ([]any, error) {
	if t.ref != nil {
		return t.ref.elements()
	}
	if t.n == 0 {
		return nil, nil
	}
	return decodeSeq(t.enc, t.n)
}

// At returns element i (decoding the tuple; use Elems to read several).
func (t Tuple) At(i int) (any, error) {
	if i < 0 || i >= t.n {
		return nil, fmt.Errorf("pickle: tuple index %d out of range [0,%d)", i, t.n)
	}
	if t.ref != nil && t.ref.fin == nil {
		return t.ref.elems[i], nil
	}
	e, err := t.Elems()
	if err != nil {
		return nil, err
	}
	return e[i], nil
}

// String formats the tuple like Python's repr, roughly.
func (t Tuple) String() string { return repr(t) }

// TupleOf encodes as a tuple of its elements, each encoded once: the way to build a
// message such as ('#RETURN', value) or a call's arguments, which need not be
// comparable (MakeTuple encodes its elements into the canonical body first, then Encode
// copies that). Decode never returns it.
type TupleOf []any

// FrozenSet is a Python frozenset. Like Tuple it is comparable: it holds the canonical
// encoding of its members in a canonical (sorted) order. Members decodes them.
type FrozenSet struct {
	n   int
	enc string
}

// MakeFrozenSet returns the frozenset of members (duplicates collapse); members must be
// hashable (see Hashable). Its canonical body is bounded as MakeTuple's.
func MakeFrozenSet(members ...any) (FrozenSet, error) {
	f, err := makeFrozenSet(members, unlimited())
	if err != nil {
		return FrozenSet{}, fmt.Errorf("pickle: %w", err)
	}
	return f, nil
}

// Len returns the number of members.
func (f FrozenSet) Len() int { return f.n }

// Members decodes and returns the members, in a deterministic order.
func (f FrozenSet) Members() ([]any, error) {
	if f.n == 0 {
		return nil, nil
	}
	return decodeSeq(f.enc, f.n)
}

// Set is a Python set; its members are hashable values (see Hashable).
type Set map[any]struct{}

// Dict is a Python dict: insertion-ordered, keyed by any hashable value (see Hashable).
// The zero value is an empty dict. Python dicts are mutable and identity matters (a dict
// may contain itself), so dicts are always handled as *Dict.
type Dict struct {
	keys, vals []any
	index      map[any]int
	frozen     bool // decoding: captured into an immutable value; later mutation means a cycle
}

// NewDict returns an empty dict.
func NewDict() *Dict { return &Dict{} }

// Len returns the number of items.
func (d *Dict) Len() int { return len(d.keys) }

// Get returns the value stored under key.
func (d *Dict) Get(key any) (any, bool) {
	if !isComparable(key) {
		return nil, false
	}
	i, ok := d.index[key]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

// Set stores value under key, keeping the key's first insertion position as Python
// does. It panics if key is not hashable (see Hashable): a programming error.
func (d *Dict) Set(key, value any) {
	if err := Hashable(key); err != nil {
		panic(err)
	}
	d.set(key, value)
}

func (d *Dict) set(key, value any) {
	if i, ok := d.index[key]; ok {
		d.vals[i] = value
		return
	}
	if d.index == nil {
		d.index = map[any]int{}
	}
	d.index[key] = len(d.keys)
	d.keys = append(d.keys, key)
	d.vals = append(d.vals, value)
}

// Delete removes key and reports whether it was present (O(n)).
func (d *Dict) Delete(key any) bool {
	if !isComparable(key) {
		return false
	}
	i, ok := d.index[key]
	if !ok {
		return false
	}
	delete(d.index, key)
	d.keys = append(d.keys[:i], d.keys[i+1:]...)
	d.vals = append(d.vals[:i], d.vals[i+1:]...)
	for j := i; j < len(d.keys); j++ {
		d.index[d.keys[j]] = j
	}
	return true
}

// Keys returns the keys in insertion order.
func (d *Dict) Keys() []any { return append([]any(nil), d.keys...) }

// Values returns the values in insertion order.
func (d *Dict) Values() []any { return append([]any(nil), d.vals...) }

// All iterates over the items in insertion order.
func (d *Dict) All() iter.Seq2[any, any] {
	return func(yield func(any, any) bool) {
		for i := range d.keys {
			if !yield(d.keys[i], d.vals[i]) {
				return
			}
		}
	}
}

// Exception is a Python exception of an allow-listed class (the builtin exceptions,
// queue.Empty/Full, threading.BrokenBarrierError, multiprocessing's errors), pickled as
// class + args (REDUCE), plus the instance __dict__ when it has one (BUILD).
type Exception struct {
	Module string // "builtins", "_queue", "queue", "threading", …
	Name   string // "KeyError"
	Args   []any
	State  any // the BUILD state (usually a *Dict), or nil
	frozen bool
}

// Error formats the exception as Python prints its last traceback line: "KeyError: 'k'".
func (e *Exception) Error() string {
	switch len(e.Args) {
	case 0:
		return e.Name
	case 1:
		if s, ok := e.Args[0].(string); ok && e.Name != "KeyError" {
			return e.Name + ": " + s
		}
		return e.Name + ": " + repr(e.Args[0])
	}
	var w reprWriter
	w.seq(e.Name+": (", e.Args, ")", false)
	return w.String()
}

// Token is multiprocessing.managers.Token: the name of a shared object.
type Token struct {
	TypeID string
	// Address is the manager's address: a Tuple (host string, port int64) for TCP,
	// a string path for a Unix socket (Bytes for Linux abstract sockets).
	Address any
	ID      string // the object's ident, e.g. "7f0e58319050"
}

// Proxy is a pickled proxy: multiprocessing.managers.RebuildProxy(func, token,
// serializer, kwds), as BaseProxy.__reduce__ produces it. Module.Class is the proxy
// type (multiprocessing.managers.AutoProxy, ListProxy, …, or a user class) — never
// imported or run here, only named.
type Proxy struct {
	Module, Class string
	Token         Token
	Serializer    string // "pickle"
	Kwds          *Dict  // e.g. {'exposed': (...)} for AutoProxy; may be nil
}

// Exposed returns kwds['exposed'] as strings (AutoProxy's method names), or nil.
func (p *Proxy) Exposed() []string {
	if p.Kwds == nil {
		return nil
	}
	v, ok := p.Kwds.Get("exposed")
	if !ok {
		return nil
	}
	var elems []any
	switch x := v.(type) {
	case Tuple:
		elems, _ = x.Elems()
	case []any:
		elems = x
	}
	out := make([]string, 0, len(elems))
	for _, e := range elems {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Slice is a Python slice object (l[1:5] sends slice(1, 5, None)). The fields hold
// decoded values, usually nil or int64.
type Slice struct{ Start, Stop, Step any }

// Array is an array.array: a typecode ('b', 'i', 'd', …) and its values (int64 —
// BigInt for large 'Q' — float64, or one-character strings for 'u').
type Array struct {
	Typecode string
	Values   []any
}

// Opaque is a Python value this package does not interpret — an instance of a class
// outside the allow-list, a function, a class. It holds a complete, self-contained
// pickle (protocol 4) of the value, re-encoded from the decoded opcode tree: encoding an
// Opaque inside another value writes that tree back, so Python rebuilds the same object.
// Nothing in it is ever executed here. Opaque is comparable (two decodings of equal
// objects give equal Opaques), so a hashable Python object (a frozen dataclass) can be a
// dict key.
type Opaque struct{ pkl string }

// Pickle returns the opaque value's own pickle (pickle.loads in Python rebuilds it).
func (o Opaque) Pickle() []byte { return []byte(o.pkl) }

// Global returns the module and qualified name of the class or callable at the root of
// the value (for "__main__.Point(…)": "__main__", "Point"), or empty strings.
func (o Opaque) Global() (module, name string) {
	v, err := decodeNode(o.pkl)
	if err != nil {
		return "", ""
	}
	for {
		switch x := v.(type) {
		case globalRef:
			return x.module, x.name
		case *objNode:
			v = x.fn
		default:
			return "", ""
		}
	}
}

// Args returns the arguments the value's class or callable is called with (REDUCE or
// NEWOBJ), decoded, when the value is such a call: for an exception of a class outside
// the allow-list, its args.
func (o Opaque) Args() ([]any, bool) {
	v, err := decodeNode(o.pkl)
	if err != nil {
		return nil, false
	}
	n, ok := v.(*objNode)
	if !ok {
		return nil, false
	}
	t, ok := n.args.(Tuple)
	if !ok {
		return nil, false
	}
	e, err := t.Elems()
	return e, err == nil
}

// String names the value's class.
func (o Opaque) String() string {
	m, n := o.Global()
	return "<opaque " + m + "." + n + ">"
}

// Hashable reports (as a Python TypeError-like error) whether v can be a dict key or set
// member: nil, bool, the integer types, BigInt, float64, complex128, string, Bytes,
// Tuple (unless it holds a list, dict, set, bytearray or array), FrozenSet, Token, Slice,
// Opaque, *Exception.
func Hashable(v any) error {
	if t, ok := v.(Tuple); ok && t.ref != nil {
		return fmt.Errorf("pickle: unhashable type: '%s'", t.ref.culprit())
	}
	switch v.(type) {
	case nil, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64,
		BigInt, float64, float32, complex128, complex64, string, Bytes, Tuple, FrozenSet, Token, Opaque, *Exception:
		return nil
	case Slice:
		if isComparable(v) {
			return nil
		}
	}
	return fmt.Errorf("pickle: unhashable type: '%s'", pyTypeName(v))
}

func isComparable(v any) bool {
	switch x := v.(type) {
	case []any, []byte, ByteArray, Set, map[any]any, map[string]any:
		return false
	case Slice:
		return isComparable(x.Start) && isComparable(x.Stop) && isComparable(x.Step)
	}
	return Hashable(v) == nil
}

func pyTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, BigInt, *big.Int:
		return "int"
	case float64, float32:
		return "float"
	case complex128, complex64:
		return "complex"
	case string:
		return "str"
	case Bytes, []byte:
		return "bytes"
	case ByteArray:
		return "bytearray"
	case Tuple:
		return "tuple"
	case FrozenSet:
		return "frozenset"
	case Set, *setNode:
		return "set"
	case *Dict:
		return "dict"
	case []any, *listNode:
		return "list"
	case Slice:
		return "slice"
	case *Array:
		return "array.array"
	case Token:
		return "Token"
	case *Proxy:
		return "proxy"
	case *Exception:
		return "exception"
	}
	return fmt.Sprintf("%T", v)
}
