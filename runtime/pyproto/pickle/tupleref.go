package pickle

import (
	"fmt"
	"reflect"
	"slices"
)

// Unhashable tuples. A tuple that holds a list, dict, set, bytearray or array (directly
// or through another such tuple) can never be a dict key or set member in Python, so it
// need not be comparable by content: it keeps its elements by reference (tupleRef) and
// compares by identity, which Python's hash could never contradict. Spelling such a
// tuple out canonically would copy everything it holds, once per reference: a reply
// ('#RETURN', [cfg]*40000) — 80 KB of pickle sharing one 1.7 KB dict — would become
// 68 MB of canonical body. Only hashable tuples are spelled out; their size is what the
// expansion budget bounds.

// tupleRef holds the elements of an unhashable tuple.
type tupleRef struct {
	elems []any
	// raw are the elements as the decoder built them (internal nodes: *listNode, …),
	// kept until the decode ends: an object's pickle (Opaque) made while decoding writes
	// them, so that a list reached through the tuple and through the object's other
	// parts (the same *listNode) is written once. Nil for tuples Go code built.
	raw []any
	// fin is the finalizer of the decode that built the tuple while elems are still raw:
	// Elems finalizes them through it, so that one list reached through the tuple and
	// elsewhere stays one []any. Nil once finalized, and for tuples Go code built.
	fin  *finalizer
	busy bool // being finalized
}

// elements returns a copy of the element slice (the elements themselves are shared).
func (r *tupleRef) elements() ([]any, error) {
	if r.fin != nil {
		if err := r.fin.tuple(r, 0); err != nil {
			return nil, fmt.Errorf("pickle: %w", err)
		}
	}
	return slices.Clone(r.elems), nil
}

// culprit names the type that makes the tuple unhashable, for Hashable's error.
func (r *tupleRef) culprit() string {
	for _, e := range r.elems {
		if t, ok := e.(Tuple); ok && t.ref != nil {
			return t.ref.culprit()
		}
		if unhashable(e, 0) {
			return pyTypeName(e)
		}
	}
	return "tuple"
}

// unhashable reports whether a tuple holding v is unhashable in Python: v is a list,
// dict, set, bytearray or array (as decoded or as Go values that encode as such), or
// an unhashable tuple. Objects outside the allow-list, exceptions and proxies are
// hashable by identity in Python whatever they hold.
func unhashable(v any, depth int) bool {
	switch x := v.(type) {
	case nil, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64,
		BigInt, float64, float32, complex128, complex64, string, Bytes, []byte, FrozenSet,
		Token, Opaque, Slice, *Exception, *Proxy, *objNode, *tokenNode, globalRef, Valuer:
		return false
	case Tuple:
		return x.ref != nil
	case TupleOf:
		if depth > DefaultLimits.MaxDepth {
			return true
		}
		for _, e := range x {
			if unhashable(e, depth+1) {
				return true
			}
		}
		return false
	case *listNode, *Dict, *setNode, Set, []any, ByteArray, *Array, Array:
		return true
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		return true
	}
	return false
}

// anyUnhashable reports whether a tuple of items is unhashable.
func anyUnhashable(items []any) bool {
	for _, it := range items {
		if unhashable(it, 0) {
			return true
		}
	}
	return false
}

// refTuple builds an unhashable tuple while decoding. The mutable nodes it reaches are
// marked captured (frozen), as a canonical tuple's are: only a recursive pickle changes
// them afterwards, and that is refused, so the elements are final from here on — the
// interpreted globals (set(…), RebuildProxy(…)) can read them at once — and no cycle can
// pass through the tuple.
func (m *machine) refTuple(items []any) (Tuple, error) {
	for _, it := range items {
		if err := m.freezeNode(it, 1); err != nil {
			return Tuple{}, err
		}
	}
	return Tuple{n: len(items), ref: &tupleRef{elems: items, raw: items, fin: &m.fin}}, nil
}

// freezeNode marks v and the mutable nodes below it frozen. A frozen node's nodes are
// frozen already (whoever froze it walked them), and a tuple's were frozen when it was
// built, so each node is walked once per decode.
func (m *machine) freezeNode(v any, depth int) error {
	if depth > m.b.lim.MaxDepth {
		return fmt.Errorf("%w: nesting deeper than %d", ErrLimit, m.b.lim.MaxDepth)
	}
	walk := func(vs ...any) error {
		for _, x := range vs {
			if err := m.freezeNode(x, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	switch x := v.(type) {
	case *listNode:
		if x.frozen {
			return nil
		}
		x.frozen = true
		return walk(x.items...)
	case *Dict:
		if x.frozen {
			return nil
		}
		x.frozen = true
		return walk(x.vals...) // keys are hashable values, immutable
	case *setNode:
		x.frozen = true
	case *tokenNode:
		x.frozen = true
	case *objNode:
		if x.frozen {
			return nil
		}
		x.frozen = true
		if err := walk(x.fn, x.kwargs); err != nil {
			return err
		}
		for _, op := range x.ops {
			if err := walk(op.a, op.b); err != nil {
				return err
			}
		}
	case *Exception:
		if x.frozen {
			return nil
		}
		x.frozen = true
		return walk(x.State) // Args were finalized when it was built
	}
	return nil
}

// tuple finalizes the elements of an unhashable tuple in place.
func (f *finalizer) tuple(r *tupleRef, depth int) error {
	if r.fin == nil || r.busy {
		return nil
	}
	r.busy = true
	defer func() { r.busy = false }()
	out := make([]any, len(r.raw))
	for i, it := range r.raw {
		y, err := f.fin(it, depth+1)
		if err != nil {
			return err
		}
		out[i] = y
	}
	r.elems, r.fin = out, nil
	f.refs = append(f.refs, r)
	return nil
}

// release drops the raw elements of the tuples finalized, once the decode is done.
func (f *finalizer) release() {
	for _, r := range f.refs {
		r.raw = nil
	}
	f.refs = nil
}

// refTuple writes an unhashable tuple: with the memo, once and then as a memo reference
// (as Python memoizes tuples); memo-free (inside an object in a canonical body), with
// the copying of shared parts and the cycle check mutable values get.
func (e *encoder) refTuple(t Tuple, depth int) error {
	r := t.ref
	if e.useMemo {
		if i, ok := e.memo[r]; ok {
			e.get(i)
			return nil
		}
	} else {
		if done, err := e.seen(r, depth); done || err != nil {
			return err
		}
		defer e.leave(r)
	}
	items := r.elems
	if r.raw != nil {
		items = r.raw
	}
	if err := e.tuple(items, depth); err != nil {
		return err
	}
	e.memoize(r)
	return nil
}
