package pickle

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// Encode pickles v with protocol 4 (what CPython 3.8–3.13 send; 3.14 reads it too).
// It accepts the values Decode returns and ordinary Go values: nil; bool; every integer
// type and *big.Int; float32/64; complex64/128; string; []byte (bytes); slices of
// anything (list); maps (dict, keys sorted when they are strings or numbers so the
// output is deterministic); and the types of this package. A Go map or slice that
// contains itself is refused (depth); a Valuer encodes as its PickleValue; any other
// Go type is refused.
func Encode(v any) ([]byte, error) { return AppendEncode(nil, v) }

// AppendEncode is Encode appending to dst.
func AppendEncode(dst []byte, v any) ([]byte, error) {
	start := len(dst)
	// PROTO 4, then one FRAME (patched below) holding everything but STOP is inside it.
	dst = append(dst, opProto, 4, opFrame, 0, 0, 0, 0, 0, 0, 0, 0)
	e := &encoder{buf: dst, useMemo: true, maxDepth: DefaultLimits.MaxDepth}
	if err := e.value(v, 0); err != nil {
		return dst[:start], fmt.Errorf("pickle: %w", err)
	}
	e.buf = append(e.buf, opStop)
	binary.LittleEndian.PutUint64(e.buf[start+3:], uint64(len(e.buf)-start-11))
	return e.buf, nil
}

// encoder writes values as pickle opcodes. With useMemo it memoizes mutable objects (so
// shared and recursive ones come back shared); without, it writes the canonical,
// memo-free form used for Tuple and FrozenSet bodies, refusing cycles.
type encoder struct {
	buf      []byte
	useMemo  bool
	memo     map[any]int // made on first use
	nmemo    int
	active   []activeNode // memo-free: the pointers being written, innermost last (a revisit is a cycle)
	maxDepth int
	freeze   bool    // decoding: mark captured mutable nodes (see listNode.frozen)
	b        *budget // decoding: bound on bytes written; nil for Go callers
	// Memo-free: where each pointer written in full was written (share.go), so that
	// writing it again copies those bytes, and deepest the nesting reached.
	spans   map[any]span
	deepest int
}

func (e *encoder) grow() error {
	if e.b != nil && len(e.buf) > e.b.left {
		return fmt.Errorf("%w: values expand beyond %d bytes (MaxExpand)", ErrLimit, e.b.left)
	}
	return nil
}

// seen handles a pointer value before writing it at depth: a memo reference if it was
// written, a cycle error in memo-free mode — or there, when it was written in full
// already (shared, not recursive), a copy of those bytes (share.go).
func (e *encoder) seen(p any, depth int) (done bool, err error) {
	if e.useMemo {
		if i, ok := e.memo[p]; ok {
			e.get(i)
			return true, nil
		}
		return false, nil
	}
	for _, a := range e.active {
		if a.p == p {
			return false, fmt.Errorf("%w: a recursive structure inside a tuple or frozenset", ErrUnsupported)
		}
	}
	if done, err := e.again(p, depth); done || err != nil {
		return done, err
	}
	e.active = append(e.active, activeNode{p: p, start: len(e.buf), depth: depth, deepest: e.deepest})
	e.deepest = depth
	return false, nil
}

// leave ends writing pointer p (memo-free mode), recording where it was written.
func (e *encoder) leave(p any) {
	if !e.useMemo && len(e.active) > 0 && e.active[len(e.active)-1].p == p {
		a := e.active[len(e.active)-1]
		e.active = e.active[:len(e.active)-1]
		e.wrote(a)
	}
}

// memoize records the value just written (MEMOIZE) under p.
func (e *encoder) memoize(p any) {
	if !e.useMemo {
		return
	}
	if e.memo == nil {
		e.memo = map[any]int{}
	}
	e.buf = append(e.buf, opMemoize)
	e.memo[p] = e.nmemo
	e.nmemo++
}

func (e *encoder) get(i int) {
	if i < 256 {
		e.buf = append(e.buf, opBinget, byte(i))
		return
	}
	e.buf = append(e.buf, opLongBinget)
	e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(i))
}

func (e *encoder) int(x int64) {
	switch {
	case x >= 0 && x < 1<<8:
		e.buf = append(e.buf, opBinint1, byte(x))
	case x >= 0 && x < 1<<16:
		e.buf = append(e.buf, opBinint2, byte(x), byte(x>>8))
	case x >= math.MinInt32 && x <= math.MaxInt32:
		e.buf = append(e.buf, opBinint)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(int32(x)))
	default:
		e.long(longBytes(big.NewInt(x)))
	}
}

func (e *encoder) long(le []byte) {
	if len(le) < 256 {
		e.buf = append(e.buf, opLong1, byte(len(le)))
	} else {
		e.buf = append(e.buf, opLong4)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(len(le)))
	}
	e.buf = append(e.buf, le...)
}

func (e *encoder) bigInt(x *big.Int) {
	if x.IsInt64() {
		e.int(x.Int64())
		return
	}
	e.long(longBytes(x))
}

func (e *encoder) str(s string) {
	e.sized(opShortBinunicode, opBinunicode, opBinunicode8, s)
}

func (e *encoder) bytes(s string) {
	e.sized(opShortBinbytes, opBinbytes, opBinbytes8, s)
}

// sized writes s after its length, with the opcode of the 1-, 4- or 8-byte length form
// (the smallest that fits).
func (e *encoder) sized(op1, op4, op8 byte, s string) {
	switch n := len(s); {
	case n < 256:
		e.buf = append(e.buf, op1, byte(n))
	case uint64(n) <= math.MaxUint32:
		e.buf = append(e.buf, op4)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(n))
	default:
		e.buf = append(e.buf, op8)
		e.buf = binary.LittleEndian.AppendUint64(e.buf, uint64(n))
	}
	e.buf = append(e.buf, s...)
}

// global writes a reference to module.name. Canonical decoding relies on this exact
// form (two SHORT_BINUNICODE then STACK_GLOBAL); names are at most 256 bytes.
func (e *encoder) global(mod, name string) {
	e.str(mod)
	e.str(name)
	e.buf = append(e.buf, opStackGlobal)
}

// tupleOf writes the values already pushed since MARK (or n ≤ 3 without MARK) as a tuple.
func (e *encoder) tupleEnd(n int, marked bool) {
	switch {
	case marked:
		e.buf = append(e.buf, opTuple)
	case n == 0:
		e.buf = append(e.buf, opEmptyTuple)
	default:
		e.buf = append(e.buf, opTuple1+byte(n-1))
	}
}

// values writes vs as the elements of a tuple.
func (e *encoder) tuple(vs []any, depth int) error {
	marked := len(vs) > 3
	if marked {
		e.buf = append(e.buf, opMark)
	}
	for _, v := range vs {
		if err := e.value(v, depth+1); err != nil {
			return err
		}
	}
	e.tupleEnd(len(vs), marked)
	return nil
}

// batched writes items with APPENDS (or key/value pairs with SETITEMS) in batches of
// 1000, as CPython does, so a reader's stack stays small.
func (e *encoder) batched(n int, op byte, item func(i int) error) error {
	for i := 0; i < n; i += 1000 {
		end := min(i+1000, n)
		e.buf = append(e.buf, opMark)
		for j := i; j < end; j++ {
			if err := item(j); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, op)
	}
	return nil
}

func (e *encoder) list(p any, items []any, depth int) error {
	if p != nil {
		if done, err := e.seen(p, depth); done || err != nil {
			return err
		}
		defer e.leave(p)
	}
	e.buf = append(e.buf, opEmptyList)
	if p != nil {
		e.memoize(p)
	}
	if n := len(items); n == 1 {
		if err := e.value(items[0], depth+1); err != nil {
			return err
		}
		e.buf = append(e.buf, opAppend)
		return nil
	}
	return e.batched(len(items), opAppends, func(i int) error { return e.value(items[i], depth+1) })
}

func (e *encoder) dict(d *Dict, depth int) error {
	if done, err := e.seen(d, depth); done || err != nil {
		return err
	}
	defer e.leave(d)
	if e.freeze {
		d.frozen = true
	}
	e.buf = append(e.buf, opEmptyDict)
	e.memoize(d)
	if d.Len() == 1 {
		if err := e.value(d.keys[0], depth+1); err != nil {
			return err
		}
		if err := e.value(d.vals[0], depth+1); err != nil {
			return err
		}
		e.buf = append(e.buf, opSetitem)
		return nil
	}
	return e.batched(d.Len(), opSetitems, func(i int) error {
		if err := e.value(d.keys[i], depth+1); err != nil {
			return err
		}
		return e.value(d.vals[i], depth+1)
	})
}

// members returns the members of a set in canonical order: sorted by their own
// canonical encodings, so equal sets encode equally.
func (e *encoder) sortedMembers(m Set) ([]any, error) {
	type enc struct {
		b []byte
		v any
	}
	all := make([]enc, 0, len(m))
	for v := range m {
		// With the memo: deterministic for a given member, and never larger than its
		// pickle (memo-free, an opaque member with shared parts would be spelled out).
		f := &encoder{useMemo: true, maxDepth: e.maxDepth, b: e.b}
		if err := f.value(v, 0); err != nil {
			return nil, err
		}
		all = append(all, enc{f.buf, v})
	}
	sort.Slice(all, func(i, j int) bool { return bytes.Compare(all[i].b, all[j].b) < 0 })
	out := make([]any, len(all))
	for i, x := range all {
		out[i] = x.v
	}
	return out, nil
}

func (e *encoder) set(p any, m Set, depth int) error {
	if done, err := e.seen(p, depth); done || err != nil {
		return err
	}
	defer e.leave(p)
	members, err := e.sortedMembers(m)
	if err != nil {
		return err
	}
	e.buf = append(e.buf, opEmptySet)
	e.memoize(p)
	return e.batched(len(members), opAdditems, func(i int) error { return e.value(members[i], depth+1) })
}

func (e *encoder) token(t Token, depth int) error {
	e.global(managersModule, "Token")
	e.buf = append(e.buf, opEmptyTuple, opNewobj)
	if err := e.tuple([]any{t.TypeID, t.Address, t.ID}, depth); err != nil {
		return err
	}
	e.buf = append(e.buf, opBuild)
	return nil
}

func (e *encoder) value(v any, depth int) error {
	if depth > e.maxDepth {
		return fmt.Errorf("%w: nesting deeper than %d", ErrLimit, e.maxDepth)
	}
	if err := e.grow(); err != nil {
		return err
	}
	e.deepest = max(e.deepest, depth)
	if key, ok := e.shareKey(v); ok { // a large immutable value (share.go)
		if i, ok := e.memo[key]; ok {
			e.get(i)
			return nil
		}
		if err := e.write(v, depth); err != nil {
			return err
		}
		e.memoize(key)
		return nil
	}
	return e.write(v, depth)
}

// write writes v (value without the sharing of large values).
func (e *encoder) write(v any, depth int) error {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, opNone)
	case bool:
		if x {
			e.buf = append(e.buf, opNewtrue)
		} else {
			e.buf = append(e.buf, opNewfalse)
		}
	case int:
		e.int(int64(x))
	case int8:
		e.int(int64(x))
	case int16:
		e.int(int64(x))
	case int32:
		e.int(int64(x))
	case int64:
		e.int(x)
	case uint:
		e.bigInt(new(big.Int).SetUint64(uint64(x)))
	case uint8:
		e.int(int64(x))
	case uint16:
		e.int(int64(x))
	case uint32:
		e.int(int64(x))
	case uint64:
		e.bigInt(new(big.Int).SetUint64(x))
	case *big.Int:
		if x == nil {
			e.buf = append(e.buf, opNone)
			return nil
		}
		e.bigInt(x)
	case BigInt:
		e.bigInt(x.Big())
	case float64:
		e.buf = append(e.buf, opBinfloat)
		e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(x))
	case float32:
		return e.value(float64(x), depth)
	case complex128:
		e.global("builtins", "complex")
		if err := e.tuple([]any{real(x), imag(x)}, depth); err != nil {
			return err
		}
		e.buf = append(e.buf, opReduce)
	case complex64:
		return e.value(complex128(x), depth)
	case string:
		e.str(x)
	case Bytes:
		e.bytes(string(x))
	case []byte:
		e.bytes(string(x))
	case ByteArray:
		e.global("builtins", "bytearray")
		e.bytes(string(x))
		e.buf = append(e.buf, opTuple1, opReduce)
	case Tuple:
		if x.ref != nil {
			return e.refTuple(x, depth)
		}
		e.buf = append(e.buf, x.prefix()...)
		e.buf = append(e.buf, x.enc...)
		e.buf = append(e.buf, x.suffix()...)
	case FrozenSet:
		e.buf = append(e.buf, opMark)
		e.buf = append(e.buf, x.enc...)
		e.buf = append(e.buf, opFrozenset)
	case TupleOf:
		return e.tuple(x, depth)
	case []any:
		if len(x) == 0 {
			return e.list(nil, x, depth)
		}
		// Decoded values share one []any where the pickle referenced one list twice;
		// memoizing by identity keeps the output linear in the input (a small pickle of
		// lists of lists, each used twice, must not re-encode exponentially).
		return e.list(sliceID{&x[0], len(x)}, x, depth)
	case *listNode:
		if e.freeze {
			x.frozen = true
		}
		return e.list(x, x.items, depth)
	case *Dict:
		if x == nil {
			e.buf = append(e.buf, opNone)
			return nil
		}
		return e.dict(x, depth)
	case Set:
		return e.set(reflect.ValueOf(x).UnsafePointer(), x, depth)
	case *setNode:
		if e.freeze {
			x.frozen = true
		}
		return e.set(x, x.m, depth)
	case Token:
		return e.token(x, depth)
	case *tokenNode:
		if e.freeze {
			x.frozen = true
		}
		return e.token(x.tok, depth)
	case *Exception:
		return e.exception(x, depth)
	case *Proxy:
		return e.proxy(x, depth)
	case Slice:
		e.global("builtins", "slice")
		if err := e.tuple([]any{x.Start, x.Stop, x.Step}, depth); err != nil {
			return err
		}
		e.buf = append(e.buf, opReduce)
	case *Array:
		return e.array(x, depth)
	case Array:
		return e.array(&x, depth)
	case Opaque:
		n, err := decodeNode(x.pkl)
		if err != nil {
			return fmt.Errorf("corrupt opaque value: %w", err)
		}
		return e.value(n, depth)
	case globalRef:
		e.global(x.module, x.name)
	case *objNode:
		return e.object(x, depth)
	case Valuer:
		return e.value(x.PickleValue(), depth+1)
	default:
		return e.reflectValue(v, depth)
	}
	return nil
}

// Valuer is implemented by Go types that encode as another value (a client's proxy
// type encodes as the *Proxy Python rebuilds it from).
type Valuer interface {
	PickleValue() any
}

func (e *encoder) exception(x *Exception, depth int) error {
	if done, err := e.seen(x, depth); done || err != nil {
		return err
	}
	defer e.leave(x)
	if e.freeze {
		x.frozen = true
	}
	e.global(x.Module, x.Name)
	if err := e.tuple(x.Args, depth); err != nil {
		return err
	}
	e.buf = append(e.buf, opReduce)
	e.memoize(x)
	if x.State != nil {
		if err := e.value(x.State, depth+1); err != nil {
			return err
		}
		e.buf = append(e.buf, opBuild)
	}
	return nil
}

func (e *encoder) proxy(p *Proxy, depth int) error {
	e.global(managersModule, "RebuildProxy")
	e.buf = append(e.buf, opMark)
	mod := p.Module
	if mod == "" {
		mod = managersModule
	}
	e.global(mod, p.Class)
	if err := e.token(p.Token, depth+1); err != nil {
		return err
	}
	ser := p.Serializer
	if ser == "" {
		ser = "pickle"
	}
	e.str(ser)
	kw := p.Kwds
	if kw == nil {
		kw = NewDict()
	}
	if err := e.dict(kw, depth+1); err != nil {
		return err
	}
	e.buf = append(e.buf, opTuple, opReduce)
	return nil
}

func (e *encoder) array(a *Array, depth int) error {
	e.global("array", "array")
	e.str(a.Typecode)
	if err := e.list(nil, a.Values, depth+1); err != nil {
		return err
	}
	e.buf = append(e.buf, opTuple2, opReduce)
	return nil
}

func (e *encoder) object(o *objNode, depth int) error {
	if done, err := e.seen(o, depth); done || err != nil {
		return err
	}
	defer e.leave(o)
	if e.freeze {
		o.frozen = true
	}
	if err := e.value(o.fn, depth+1); err != nil {
		return err
	}
	if err := e.value(o.args, depth+1); err != nil {
		return err
	}
	if o.kind == opNewobjEx {
		if err := e.value(o.kwargs, depth+1); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, o.kind)
	e.memoize(o)
	for _, op := range o.ops {
		if err := e.value(op.a, depth+1); err != nil {
			return err
		}
		if op.op == opSetitem {
			if err := e.value(op.b, depth+1); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, op.op)
	}
	return nil
}

// sliceID identifies a []any by its backing array and length.
type sliceID struct {
	first *any
	n     int
}

// reflectValue covers Go slices, arrays and maps of any element type.
func (e *encoder) reflectValue(v any, depth int) error {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			e.buf = append(e.buf, opEmptyList)
			return nil
		}
		items := make([]any, rv.Len())
		for i := range items {
			items[i] = rv.Index(i).Interface()
		}
		return e.list(nil, items, depth)
	case reflect.Map:
		if rv.IsNil() {
			e.buf = append(e.buf, opEmptyDict)
			return nil
		}
		keys := rv.MapKeys()
		sortKeys(keys)
		e.buf = append(e.buf, opEmptyDict)
		return e.batched(len(keys), opSetitems, func(i int) error {
			if err := e.value(keys[i].Interface(), depth+1); err != nil {
				return err
			}
			return e.value(rv.MapIndex(keys[i]).Interface(), depth+1)
		})
	case reflect.Pointer:
		if rv.IsNil() {
			e.buf = append(e.buf, opNone)
			return nil
		}
	}
	return fmt.Errorf("cannot encode Go value of type %T", v)
}

// sortKeys orders map keys deterministically: strings and numbers by value, anything
// else by its formatted value.
func sortKeys(keys []reflect.Value) {
	slices.SortFunc(keys, func(a, b reflect.Value) int {
		ka, kb := keyString(a), keyString(b)
		return strings.Compare(ka, kb)
	})
}

func keyString(v reflect.Value) string {
	for v.Kind() == reflect.Interface && !v.IsNil() {
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		return "s" + v.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("i%+021d", v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("u%021d", v.Uint())
	}
	return fmt.Sprintf("x%v", v.Interface())
}

// prefix and suffix frame a tuple body: EMPTY_TUPLE, TUPLE1–3, or MARK … TUPLE.
func (t Tuple) prefix() []byte {
	if t.n > 3 {
		return []byte{opMark}
	}
	return nil
}

func (t Tuple) suffix() []byte {
	switch {
	case t.n == 0:
		return []byte{opEmptyTuple}
	case t.n > 3:
		return []byte{opTuple}
	}
	return []byte{opTuple1 + byte(t.n-1)}
}

// makeTuple builds the canonical body of a tuple (memo-free; see encoder).
func makeTuple(items []any, b *budget) (Tuple, error) {
	if len(items) == 0 {
		return Tuple{}, nil
	}
	if anyUnhashable(items) {
		return Tuple{n: len(items), ref: &tupleRef{elems: slices.Clone(items)}}, nil
	}
	e := &encoder{maxDepth: b.lim.MaxDepth, b: b}
	for _, it := range items {
		if err := e.value(it, 1); err != nil {
			return Tuple{}, err
		}
	}
	if err := e.grow(); err != nil {
		return Tuple{}, err
	}
	b.left -= len(e.buf)
	return Tuple{n: len(items), enc: string(e.buf)}, nil
}

// tuple is makeTuple while decoding, with the machine's scratch encoder: mutable
// values captured in the tuple are marked, so that mutating them later (only a
// recursive pickle does) is refused instead of leaving the tuple's body stale.
func (m *machine) tuple(items []any) (Tuple, error) {
	e := &m.scratch
	*e = encoder{buf: e.buf[:0], active: e.active[:0], maxDepth: m.b.lim.MaxDepth, b: m.b, freeze: true}
	for _, it := range items {
		if err := e.value(it, 1); err != nil {
			return Tuple{}, err
		}
	}
	if err := e.grow(); err != nil {
		return Tuple{}, err
	}
	m.b.left -= len(e.buf)
	return Tuple{n: len(items), enc: string(e.buf)}, nil
}

// makeFrozenSet builds a canonical frozenset of hashable members.
func makeFrozenSet(members []any, b *budget) (FrozenSet, error) {
	m := make(Set, len(members))
	for _, v := range members {
		if err := Hashable(v); err != nil {
			return FrozenSet{}, err
		}
		m[v] = struct{}{}
	}
	e := &encoder{maxDepth: b.lim.MaxDepth, b: b}
	sorted, err := e.sortedMembers(m)
	if err != nil {
		return FrozenSet{}, err
	}
	for _, v := range sorted {
		if err := e.value(v, 1); err != nil {
			return FrozenSet{}, err
		}
	}
	if err := e.grow(); err != nil {
		return FrozenSet{}, err
	}
	b.left -= len(e.buf)
	return FrozenSet{n: len(sorted), enc: string(e.buf)}, nil
}

// opaqueOf encodes an uninterpreted value as a standalone pickle.
func opaqueOf(v any, b *budget) (Opaque, error) {
	e := &encoder{useMemo: true, maxDepth: b.lim.MaxDepth, b: b, freeze: true}
	e.buf = append(e.buf, opProto, 4)
	if err := e.value(v, 0); err != nil {
		return Opaque{}, err
	}
	e.buf = append(e.buf, opStop)
	if err := e.grow(); err != nil {
		return Opaque{}, err
	}
	b.left -= len(e.buf)
	return Opaque{pkl: string(e.buf)}, nil
}

// finalizer converts the internal values a decode left into the public types.
type finalizer struct {
	b     *budget
	lists map[*listNode][]any
	objs  map[any]Opaque
	dicts map[*Dict]bool
	excs  map[*Exception]bool
	refs  []*tupleRef // finalized, to release (tupleRef.raw)
}

func (f *finalizer) fin(v any, depth int) (any, error) {
	if depth > f.b.lim.MaxDepth {
		return nil, fmt.Errorf("%w: nesting deeper than %d", ErrLimit, f.b.lim.MaxDepth)
	}
	switch x := v.(type) {
	case *listNode:
		out, ok := f.lists[x]
		if ok {
			if out == nil {
				// A []any cannot hold itself safely (fmt and naive walkers would
				// recurse forever), so a list inside itself is refused.
				return nil, fmt.Errorf("%w: a list that contains itself", ErrUnsupported)
			}
			return out, nil
		}
		if f.lists == nil {
			f.lists = map[*listNode][]any{}
		}
		f.lists[x] = nil // in progress
		out = make([]any, len(x.items))
		for i, it := range x.items {
			y, err := f.fin(it, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		f.lists[x] = out
		return out, nil
	case *setNode:
		return x.m, nil
	case *Dict:
		if f.dicts[x] {
			return x, nil
		}
		if f.dicts == nil {
			f.dicts = map[*Dict]bool{}
		}
		f.dicts[x] = true
		for i, it := range x.vals {
			y, err := f.fin(it, depth+1)
			if err != nil {
				return nil, err
			}
			x.vals[i] = y
		}
		return x, nil
	case *objNode, globalRef:
		if o, ok := f.objs[x]; ok {
			return o, nil
		}
		o, err := opaqueOf(x, f.b)
		if err != nil {
			return nil, err
		}
		if f.objs == nil {
			f.objs = map[any]Opaque{}
		}
		f.objs[x] = o
		return o, nil
	case *tokenNode:
		return x.tok, nil
	case Tuple:
		if x.ref != nil {
			if err := f.tuple(x.ref, depth); err != nil {
				return nil, err
			}
		}
		return x, nil
	case *Exception:
		if f.excs[x] {
			return x, nil
		}
		if f.excs == nil {
			f.excs = map[*Exception]bool{}
		}
		f.excs[x] = true
		if x.State != nil {
			s, err := f.fin(x.State, depth+1)
			if err != nil {
				return nil, err
			}
			x.State = s
		}
		return x, nil
	}
	return v, nil
}
