package pickle

import (
	"fmt"
	"unsafe"
)

// Shared values. A pickle can reference one value many times through the memo (CPython
// writes [x] * n as x once and n-1 two-byte memo references), so a decoded value can
// use one Go value many times. Writing each use out in full would let a small pickle
// become an enormous one on the way back out. So:
//
//   - with the memo (Encode), a large immutable value — str, bytes, int, tuple,
//     frozenset or opaque object — written once is referenced afterwards, when it is the
//     same Go value (the same bytes in memory, as decoding one memo entry gives), as
//     mutable values already are by identity;
//   - memo-free (the canonical bodies of tuples and frozensets, which must spell
//     everything out), a shared list, dict, set or object is written once and its bytes
//     copied at each further use, against the budget: a deep sharing that would expand
//     exponentially fails at the bound at memcpy speed, not after walking the tree.

// shareMin is the smallest value worth a memo entry of its own: below it a memo
// reference (2 or 5 bytes) saves little.
const shareMin = 32

// shareID identifies a large immutable value by its bytes' address, length, kind and
// element count.
type shareID struct {
	p    *byte
	n    int
	kind byte
	elem int
}

// shareKey returns the memo key of v when v is a large immutable value worth sharing.
func (e *encoder) shareKey(v any) (shareID, bool) {
	if !e.useMemo {
		return shareID{}, false
	}
	var (
		s    string
		kind byte
		elem int
	)
	switch x := v.(type) {
	case string:
		s, kind = x, 's'
	case Bytes:
		s, kind = string(x), 'b'
	case ByteArray:
		s, kind = string(x), 'a'
	case BigInt:
		s, kind = x.le, 'i'
	case Tuple:
		s, kind, elem = x.enc, 't', x.n
	case FrozenSet:
		s, kind, elem = x.enc, 'f', x.n
	case Opaque:
		s, kind = x.pkl, 'o'
	default:
		return shareID{}, false
	}
	if len(s) < shareMin {
		return shareID{}, false
	}
	return shareID{p: unsafe.StringData(s), n: len(s), kind: kind, elem: elem}, true
}

// activeNode is a pointer being written memo-free.
type activeNode struct {
	p       any
	start   int // where its bytes begin in buf
	depth   int // the depth it is written at
	deepest int // the encoder's deepest before it
}

// span is where a pointer was written memo-free, and how deep it nests below itself.
type span struct{ start, end, height int }

// wrote records where a (now finished) was written.
func (e *encoder) wrote(a activeNode) {
	if e.spans == nil {
		e.spans = map[any]span{}
	}
	e.spans[a.p] = span{start: a.start, end: len(e.buf), height: e.deepest - a.depth}
	e.deepest = max(a.deepest, e.deepest)
}

// again writes p memo-free at depth as a copy of its earlier writing, if it has one.
func (e *encoder) again(p any, depth int) (bool, error) {
	sp, ok := e.spans[p]
	if !ok {
		return false, nil
	}
	if depth+sp.height > e.maxDepth {
		return false, fmt.Errorf("%w: nesting deeper than %d", ErrLimit, e.maxDepth)
	}
	n := sp.end - sp.start
	if e.b != nil && len(e.buf)+n > e.b.left {
		return false, fmt.Errorf("%w: values expand beyond %d bytes (MaxExpand)", ErrLimit, e.b.left)
	}
	e.buf = append(e.buf, e.buf[sp.start:sp.end]...)
	e.deepest = max(e.deepest, depth+sp.height)
	return true, nil
}
