// Package pickle decodes and encodes the subset of Python's pickle format that CPython's
// multiprocessing manager wire carries, safely: nothing in a pickle is ever executed or
// imported.
//
// Decode reads protocols 2–5 (CPython 3.8–3.13 send 4, 3.14 sends 5): FRAME, the memo
// (MEMOIZE, BINPUT, BINGET, …), every binary int, float, str, bytes and bytearray form,
// tuples, lists, dicts, sets, frozensets, MARK, GLOBAL/STACK_GLOBAL, REDUCE,
// NEWOBJ/NEWOBJ_EX and BUILD. The text opcodes of protocols 0–1, persistent IDs,
// extension codes and out-of-band buffers are refused. Encode writes protocol 4, which
// every CPython since 3.4 reads.
//
// # Globals
//
// A global (module.name) is only ever a name here. Those on an allow-list are
// interpreted: multiprocessing.managers.Token and RebuildProxy (with any proxy class
// named), the builtin exceptions, queue.Empty/Full (_queue.Empty), threading.
// BrokenBarrierError, multiprocessing's own errors, builtins.slice, complex, bytearray,
// set, frozenset and list (as protocol 2 and dict views send them), _codecs.encode (bytes
// in protocol 2) and array.array (both the manager's and plain pickle's forms). Anything
// else — a dataclass from __main__, a function, an OrderedDict — becomes an Opaque value,
// or an ErrForbidden error with Options.Strict.
//
// An Opaque holds a self-contained pickle re-encoded from the decoded opcode tree
// (constructor, arguments, then BUILD/APPEND/SETITEM in order), not a byte slice of the
// input: a slice is not self-contained — its memo references (BINGET) point at values
// defined elsewhere in the enclosing pickle, and its implicit MEMOIZE numbering depends on
// what came before. Written back inside another pickle, the tree gives Python the same
// opcodes it wrote, so it rebuilds an equal object of its own class; shared and recursive
// references inside the object are kept through the memo. An Opaque may sit anywhere: in
// a list, dict, tuple, or as a dict key (hashable objects such as frozen dataclasses).
//
// # Values
//
//	Python              Go (Decode)                  Encode also accepts
//	None                nil
//	bool                bool
//	int                 int64, BigInt beyond int64   every Go integer type, *big.Int
//	float               float64                      float32
//	complex             complex128                   complex64
//	str                 string (the UTF-8 bytes; lone surrogates kept as CPython's surrogatepass bytes)
//	bytes               Bytes (a string type)        []byte
//	bytearray           ByteArray
//	tuple               Tuple                        (MakeTuple)
//	list                []any                        any Go slice or array
//	dict                *Dict (ordered)              any Go map (keys sorted)
//	set                 Set
//	frozenset           FrozenSet                    (MakeFrozenSet)
//	slice               Slice
//	array.array         *Array                       Array
//	exception           *Exception (class + args + state)
//	Token               Token
//	proxy               *Proxy (RebuildProxy(class, token, serializer, kwds))
//	anything else       Opaque
//
// Every hashable Python value decodes to a comparable Go value, so dict keys and set
// members can be keys of Go maps: Bytes is a string type, BigInt holds its bytes, and a
// hashable Tuple and FrozenSet hold the canonical encoding of their elements (a
// memo-free pickle fragment; FrozenSet's members sorted by their encodings) — equal
// tuples are == in Go. Tuple.Elems and FrozenSet.Members decode the elements. A tuple
// holding a list, dict, set, bytearray or array can never be a key in Python; it holds
// its elements by reference instead (== only to itself), so it shares what it holds
// with the rest of the value, as in Python, and costs nothing however often its
// contents are referenced. Go's equality is not Python's:
// 1, 1.0 and True are one key in Python and three in Go; PyKey maps a value to a Go key
// with Python's equality.
//
// Identity is kept for mutable values: a list referenced twice in one pickle (directly or
// through tuples) decodes to one []any used twice, and encodes once with a memo
// reference. A list that contains itself,
// and a recursive structure that goes through a tuple, are refused (ErrUnsupported);
// dicts and opaque objects may contain themselves.
//
// # Bounds
//
// Limits bound the input size, nesting depth, memo, string lengths, container sizes and
// the bytes of canonical encodings built while decoding (memo references can repeat a
// hashable value — a tuple of tuples — many times; without the bound a tiny pickle could
// expand exponentially). Decoding
// never panics on any input; errors name the offset and opcode:
//
//	pickle: offset 37: opcode 0x93 STACK_GLOBAL: global "os.system": not on the allow-list
//
// # Why our own codec
//
// Measured on pickles CPython 3.12 writes for this wire (requests, #PROXY with a Token
// by NEWOBJ+BUILD, #ERROR by REDUCE, sets): github.com/kisielk/og-rek v1.3.0 stops at
// NEWOBJ (0x81), EMPTY_SET (0x8f) and FROZENSET (0x91); github.com/nlpodyssey/gopickle
// v0.2.0 (a decoder only) fails every #ERROR ("REDUCE requires a Callable object") unless
// classes are hooked. Neither gives comparable tuples, re-encodable opaque objects or
// bounds on hostile input, which this wire needs; the subset is small enough to own.
package pickle
