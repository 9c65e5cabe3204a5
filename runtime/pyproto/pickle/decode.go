package pickle

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Options configure decoding.
type Options struct {
	Limits Limits
	// Strict refuses (ErrForbidden) any global outside the allow-list instead of
	// keeping the value as an Opaque.
	Strict bool
}

// Decode decodes one pickle (protocols 2–5) with the default Options.
func Decode(data []byte) (any, error) { return Options{}.Decode(data) }

// Decode decodes one pickle: data must hold exactly one pickle, from PROTO (optional)
// to STOP. Nothing is executed: allow-listed globals are interpreted, others give Opaque
// values (or an error with Strict).
func (o Options) Decode(data []byte) (any, error) { return o.decode(data, nil) }

// DecodeWithin is Decode with an expansion allowance shared by several decodes: *left
// bytes of canonical encodings (what Limits.MaxExpand bounds, which it replaces) may be
// built, and what this decode builds is taken from *left, even when it fails. A message
// holding many pickles passes one allowance to all of them, so that it expands, in
// all, no more than that: an allowance per pickle would let each of a thousand small
// pickles expand by the whole of it.
func (o Options) DecodeWithin(data []byte, left *int) (any, error) { return o.decode(data, left) }

func (o Options) decode(data []byte, left *int) (any, error) {
	lim := o.Limits.withDefaults()
	if len(data) > lim.MaxSize {
		return nil, &Error{Offset: 0, Op: firstByte(data), Err: fmt.Errorf("%w: input of %d bytes exceeds MaxSize %d", ErrLimit, len(data), lim.MaxSize)}
	}
	m := newMachine(string(data), lim, o.Strict, false)
	if left != nil {
		m.bud.left = max(*left, 0)
		defer func() { *left = m.bud.left }()
	}
	v, err := m.runPickle()
	if err != nil {
		return nil, err
	}
	if m.pos != len(m.data) {
		return nil, &Error{Offset: m.pos, Op: m.data[m.pos], Err: fmt.Errorf("%w: %d bytes after STOP", ErrMalformed, len(m.data)-m.pos)}
	}
	v, err = m.fin.fin(v, 0)
	m.fin.release()
	if err != nil {
		return nil, fmt.Errorf("pickle: %w", err)
	}
	return v, nil
}

func firstByte(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// decodeSeq decodes a canonical encoding of n values (a Tuple or FrozenSet body).
func decodeSeq(enc string, n int) ([]any, error) {
	if out, ok := fastSeq(enc, n); ok {
		return out, nil
	}
	return machineSeq(enc, n)
}

// machineSeq is decodeSeq on the general machine.
func machineSeq(enc string, n int) ([]any, error) {
	m := newMachine(enc, DefaultLimits, false, true)
	if err := m.run(false); err != nil {
		return nil, err
	}
	if len(m.stack) != n || len(m.marks) != 0 {
		return nil, fmt.Errorf("pickle: corrupt canonical encoding (%d values, want %d)", len(m.stack), n)
	}
	out := make([]any, n)
	for i, v := range m.stack {
		x, err := m.fin.fin(v, 0)
		if err != nil {
			return nil, fmt.Errorf("pickle: %w", err)
		}
		out[i] = x
	}
	m.fin.release()
	return out, nil
}

// decodeNode decodes a pickle this package wrote (an Opaque body) without converting
// the result, for writing it back into another pickle.
func decodeNode(pkl string) (any, error) {
	m := newMachine(pkl, DefaultLimits, false, false)
	return m.runPickle()
}

// machine is the unpickler's stack machine.
type machine struct {
	data   string
	pos    int
	b      *budget
	strict bool
	// canon: data is a canonical encoding this package wrote (memo-free), so the body of
	// a tuple or frozenset built from it is a substring of data; starts records where
	// each stack value's opcodes begin.
	canon  bool
	starts []int

	stack  []any
	marks  []int // stack heights at each MARK
	markAt []int // canon: data offsets of the MARKs
	memo   []any
	sparse map[uint32]any
	nmemo  int

	bud       budget
	fin       finalizer // converts internal nodes to public values (see tupleRef.fin)
	scratch   encoder   // builds tuple bodies
	stackBuf  [8]any
	memoBuf   [8]any
	startsBuf [8]int
}

func newMachine(data string, lim Limits, strict, canon bool) *machine {
	m := &machine{data: data, strict: strict, canon: canon}
	m.bud = *newBudget(lim, len(data))
	m.b = &m.bud
	m.fin.b = m.b
	// Most messages fit these; they save the first allocations of each slice.
	m.stack = m.stackBuf[:0]
	m.memo = m.memoBuf[:0]
	if canon {
		m.starts = m.startsBuf[:0]
	}
	return m
}

// runPickle runs to STOP and returns the value it left.
func (m *machine) runPickle() (any, error) {
	if err := m.run(true); err != nil {
		return nil, err
	}
	return m.stack[0], nil
}

// fail makes the error for the opcode at opPos.
func (m *machine) fail(opPos int, kind error, format string, args ...any) error {
	return &Error{Offset: opPos, Op: m.data[opPos], Err: fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))}
}

func (m *machine) read(opPos, n int) (string, error) {
	if n < 0 || n > len(m.data)-m.pos {
		return "", m.fail(opPos, ErrTruncated, "needs %d bytes, %d left", n, len(m.data)-m.pos)
	}
	s := m.data[m.pos : m.pos+n]
	m.pos += n
	return s, nil
}

func (m *machine) readLen(opPos, width int) (int, error) {
	n, err := m.readUint(opPos, width)
	if err != nil {
		return 0, err
	}
	if n > uint64(m.b.lim.MaxString) {
		return 0, m.fail(opPos, ErrLimit, "length %d exceeds MaxString %d", n, m.b.lim.MaxString)
	}
	return int(n), nil
}

// readUint reads a little-endian unsigned integer of width bytes.
func (m *machine) readUint(opPos, width int) (uint64, error) {
	s, err := m.read(opPos, width)
	if err != nil {
		return 0, err
	}
	return leUint(s), nil
}

// readBody reads a body prefixed by its length in width bytes (see readLen).
func (m *machine) readBody(opPos, width int) (string, error) {
	n, err := m.readLen(opPos, width)
	if err != nil {
		return "", err
	}
	return m.read(opPos, n)
}

func (m *machine) push(opPos int, v any) error {
	if len(m.stack) >= m.b.lim.MaxContainer {
		return m.fail(opPos, ErrLimit, "more than %d values on the stack", m.b.lim.MaxContainer)
	}
	m.stack = append(m.stack, v)
	if m.canon {
		m.starts = append(m.starts, opPos)
	}
	return nil
}

func (m *machine) pop(opPos int) (any, error) {
	n := len(m.stack)
	if n == 0 || (len(m.marks) > 0 && m.marks[len(m.marks)-1] == n) {
		return nil, m.fail(opPos, ErrMalformed, "stack underflow")
	}
	v := m.stack[n-1]
	m.stack = m.stack[:n-1]
	if m.canon {
		m.starts = m.starts[:n-1]
	}
	return v, nil
}

func (m *machine) top(opPos int) (any, error) {
	n := len(m.stack)
	if n == 0 || (len(m.marks) > 0 && m.marks[len(m.marks)-1] == n) {
		return nil, m.fail(opPos, ErrMalformed, "stack underflow")
	}
	return m.stack[n-1], nil
}

// popTop pops one value and returns it with the value left on top: the operand and
// target of APPEND, SETITEM, BUILD and the calls.
func (m *machine) popTop(opPos int) (v, target any, err error) {
	if v, err = m.pop(opPos); err != nil {
		return nil, nil, err
	}
	if target, err = m.top(opPos); err != nil {
		return nil, nil, err
	}
	return v, target, nil
}

// popMarkTop pops the values above the last MARK and returns them with the value
// left on top, the target of APPENDS, SETITEMS and ADDITEMS.
func (m *machine) popMarkTop(opPos int) (items []any, target any, err error) {
	if items, _, err = m.popMark(opPos); err != nil {
		return nil, nil, err
	}
	if target, err = m.top(opPos); err != nil {
		return nil, nil, err
	}
	return items, target, nil
}

// popCall pops the argument tuple of REDUCE, NEWOBJ or NEWOBJ_EX (named name in the
// error) and returns it with the callable left on top, which the caller replaces.
func (m *machine) popCall(opPos int, name string) (fn any, args Tuple, err error) {
	a, fn, err := m.popTop(opPos)
	if err != nil {
		return nil, Tuple{}, err
	}
	args, ok := a.(Tuple)
	if !ok {
		return nil, Tuple{}, m.fail(opPos, ErrMalformed, "%s arguments must be a tuple, got %s", name, pyTypeName(a))
	}
	return fn, args, nil
}

// popMark removes and returns the values above the last MARK, and the MARK's offset.
func (m *machine) popMark(opPos int) ([]any, int, error) {
	if len(m.marks) == 0 {
		return nil, 0, m.fail(opPos, ErrMalformed, "no MARK")
	}
	k := m.marks[len(m.marks)-1]
	m.marks = m.marks[:len(m.marks)-1]
	items := m.stack[k:]
	// Copy: the stack's backing array is reused by later pushes.
	out := make([]any, len(items))
	copy(out, items)
	m.stack = m.stack[:k]
	at := 0
	if m.canon {
		at = m.markAt[len(m.markAt)-1]
		m.markAt = m.markAt[:len(m.markAt)-1]
		m.starts = m.starts[:k]
	}
	return out, at, nil
}

// replaceTop pops n values and pushes v in their place (keeping the first one's start).
func (m *machine) replaceTop(n int, v any) {
	k := len(m.stack) - n
	m.stack = append(m.stack[:k], v)
	if m.canon {
		m.starts = m.starts[:k+1]
	}
}

func (m *machine) memoPut(opPos int, idx uint64, v any) error {
	if idx >= uint64(m.b.lim.MaxMemo) {
		return m.fail(opPos, ErrLimit, "memo index %d exceeds MaxMemo %d", idx, m.b.lim.MaxMemo)
	}
	switch {
	case idx < uint64(len(m.memo)):
		m.memo[idx] = v
		return nil
	case idx == uint64(len(m.memo)) && m.sparse == nil:
		m.memo = append(m.memo, v)
	default:
		if m.sparse == nil {
			m.sparse = map[uint32]any{}
		}
		if _, ok := m.sparse[uint32(idx)]; ok {
			m.sparse[uint32(idx)] = v
			return nil
		}
		m.sparse[uint32(idx)] = v
	}
	m.nmemo++
	if m.nmemo > m.b.lim.MaxMemo {
		return m.fail(opPos, ErrLimit, "more than %d memo entries", m.b.lim.MaxMemo)
	}
	return nil
}

func (m *machine) memoGet(opPos int, idx uint64) (any, error) {
	if idx < uint64(len(m.memo)) {
		return m.memo[idx], nil
	}
	if v, ok := m.sparse[uint32(idx)]; ok && idx <= math.MaxUint32 {
		return v, nil
	}
	return nil, m.fail(opPos, ErrMalformed, "memo index %d not set", idx)
}

// run executes opcodes until STOP (untilStop) or the end of the data.
func (m *machine) run(untilStop bool) error {
	for {
		if m.pos >= len(m.data) {
			if untilStop {
				return &Error{Offset: m.pos, Op: 0, Err: fmt.Errorf("%w: no STOP", ErrTruncated)}
			}
			return nil
		}
		opPos := m.pos
		op := m.data[m.pos]
		m.pos++
		if op == opStop {
			if len(m.stack) != 1 || len(m.marks) != 0 {
				return m.fail(opPos, ErrMalformed, "%d values and %d MARKs left on the stack, want one value", len(m.stack), len(m.marks))
			}
			return nil
		}
		if err := m.step(opPos, op); err != nil {
			if _, ok := err.(*Error); !ok {
				err = &Error{Offset: opPos, Op: op, Err: err}
			}
			return err
		}
	}
}

func (m *machine) step(opPos int, op byte) error {
	switch op {
	case opProto:
		s, err := m.read(opPos, 1)
		if err != nil {
			return err
		}
		if s[0] < 2 || s[0] > 5 {
			return m.fail(opPos, ErrUnsupported, "protocol %d (2 to 5 are decoded)", s[0])
		}
	case opFrame:
		n, err := m.read(opPos, 8)
		if err != nil {
			return err
		}
		if l := binary.LittleEndian.Uint64([]byte(n)); l > uint64(len(m.data)-m.pos) {
			return m.fail(opPos, ErrTruncated, "frame of %d bytes, %d left", l, len(m.data)-m.pos)
		}
	case opMark:
		if len(m.marks) >= m.b.lim.MaxDepth {
			return m.fail(opPos, ErrLimit, "more than %d nested MARKs (MaxDepth)", m.b.lim.MaxDepth)
		}
		m.marks = append(m.marks, len(m.stack))
		if m.canon {
			m.markAt = append(m.markAt, opPos)
		}
	case opPop:
		if len(m.marks) > 0 && m.marks[len(m.marks)-1] == len(m.stack) {
			m.marks = m.marks[:len(m.marks)-1]
			if m.canon {
				m.markAt = m.markAt[:len(m.markAt)-1]
			}
			return nil
		}
		_, err := m.pop(opPos)
		return err
	case opPopMark:
		_, _, err := m.popMark(opPos)
		return err
	case opDup:
		v, err := m.top(opPos)
		if err != nil {
			return err
		}
		return m.push(opPos, v)
	case opNone:
		return m.push(opPos, nil)
	case opNewtrue:
		return m.push(opPos, true)
	case opNewfalse:
		return m.push(opPos, false)
	case opBinint1, opBinint2:
		n, err := m.readUint(opPos, pick(op == opBinint2, 2, 1))
		if err != nil {
			return err
		}
		return m.push(opPos, int64(n))
	case opBinint:
		n, err := m.readUint(opPos, 4)
		if err != nil {
			return err
		}
		return m.push(opPos, int64(int32(n)))
	case opLong1, opLong4:
		s, err := m.readBody(opPos, pick(op == opLong4, 4, 1))
		if err != nil {
			return err
		}
		return m.push(opPos, intFromLE(s))
	case opBinfloat:
		s, err := m.read(opPos, 8)
		if err != nil {
			return err
		}
		return m.push(opPos, math.Float64frombits(binary.BigEndian.Uint64([]byte(s))))
	case opShortBinunicode, opBinunicode, opBinunicode8, opShortBinbytes, opBinbytes, opBinbytes8, opBytearray8:
		var w int
		switch op {
		case opShortBinunicode, opShortBinbytes:
			w = 1
		case opBinunicode, opBinbytes:
			w = 4
		default:
			w = 8
		}
		s, err := m.readBody(opPos, w)
		if err != nil {
			return err
		}
		switch op {
		case opShortBinunicode, opBinunicode, opBinunicode8:
			// Kept as the bytes Python sent: UTF-8, or with surrogatepass the encoded
			// lone surrogates, which Go strings carry unchanged back to Python.
			return m.push(opPos, s)
		case opBytearray8:
			return m.push(opPos, ByteArray(s))
		}
		return m.push(opPos, Bytes(s))
	case opEmptyTuple:
		return m.push(opPos, Tuple{})
	case opTuple1, opTuple2, opTuple3:
		n := int(op-opTuple1) + 1
		if len(m.stack) < n || (len(m.marks) > 0 && len(m.stack)-n < m.marks[len(m.marks)-1]) {
			return m.fail(opPos, ErrMalformed, "stack underflow")
		}
		items := m.stack[len(m.stack)-n:]
		var t Tuple
		if anyUnhashable(items) {
			var err error
			if t, err = m.refTuple(slices.Clone(items)); err != nil {
				return err
			}
		} else if m.canon {
			t = Tuple{n: n, enc: m.data[m.starts[len(m.starts)-n]:opPos]}
		} else {
			var err error
			if t, err = m.tuple(items); err != nil {
				return err
			}
		}
		m.replaceTop(n, t)
	case opTuple:
		items, at, err := m.popMark(opPos)
		if err != nil {
			return err
		}
		var t Tuple
		if anyUnhashable(items) {
			if t, err = m.refTuple(items); err != nil {
				return err
			}
		} else if m.canon {
			t = Tuple{n: len(items), enc: m.data[at+1 : opPos]}
		} else if t, err = m.tuple(items); err != nil {
			return err
		}
		return m.pushAt(opPos, at, t)
	case opEmptyList:
		return m.push(opPos, &listNode{})
	case opList:
		items, at, err := m.popMark(opPos)
		if err != nil {
			return err
		}
		return m.pushAt(opPos, at, &listNode{items: items})
	case opEmptyDict:
		return m.push(opPos, NewDict())
	case opDict:
		items, at, err := m.popMark(opPos)
		if err != nil {
			return err
		}
		d := NewDict()
		if err := m.setItems(opPos, d, items); err != nil {
			return err
		}
		return m.pushAt(opPos, at, d)
	case opEmptySet:
		return m.push(opPos, &setNode{m: Set{}})
	case opFrozenset:
		items, at, err := m.popMark(opPos)
		if err != nil {
			return err
		}
		var fs FrozenSet
		if m.canon {
			fs = FrozenSet{n: len(items), enc: m.data[at+1 : opPos]}
		} else {
			for i, it := range items {
				if items[i], err = hashKey(it, m.b); err != nil {
					return err
				}
			}
			if fs, err = makeFrozenSet(items, m.b); err != nil {
				return err
			}
		}
		return m.pushAt(opPos, at, fs)
	case opAppend:
		v, t, err := m.popTop(opPos)
		if err != nil {
			return err
		}
		return m.appendTo(opPos, t, []any{v})
	case opAppends:
		items, t, err := m.popMarkTop(opPos)
		if err != nil {
			return err
		}
		return m.appendTo(opPos, t, items)
	case opSetitem:
		v, err := m.pop(opPos)
		if err != nil {
			return err
		}
		k, t, err := m.popTop(opPos)
		if err != nil {
			return err
		}
		return m.setItems(opPos, t, []any{k, v})
	case opSetitems:
		items, t, err := m.popMarkTop(opPos)
		if err != nil {
			return err
		}
		return m.setItems(opPos, t, items)
	case opAdditems:
		items, t, err := m.popMarkTop(opPos)
		if err != nil {
			return err
		}
		s, ok := t.(*setNode)
		if !ok {
			return m.fail(opPos, ErrUnsupported, "ADDITEMS to a %s", pyTypeName(t))
		}
		if s.frozen {
			return m.fail(opPos, ErrUnsupported, "a set changed after it was put in a tuple (a recursive structure)")
		}
		if len(s.m)+len(items) > m.b.lim.MaxContainer {
			return m.fail(opPos, ErrLimit, "set of more than %d members", m.b.lim.MaxContainer)
		}
		for _, it := range items {
			k, err := hashKey(it, m.b)
			if err != nil {
				return err
			}
			s.m[k] = struct{}{}
		}
	case opMemoize:
		v, err := m.top(opPos)
		if err != nil {
			return err
		}
		return m.memoPut(opPos, uint64(len(m.memo)+len(m.sparse)), v)
	case opBinput, opLongBinput:
		idx, err := m.readUint(opPos, pick(op == opLongBinput, 4, 1))
		if err != nil {
			return err
		}
		v, err := m.top(opPos)
		if err != nil {
			return err
		}
		return m.memoPut(opPos, idx, v)
	case opBinget, opLongBinget:
		idx, err := m.readUint(opPos, pick(op == opLongBinget, 4, 1))
		if err != nil {
			return err
		}
		v, err := m.memoGet(opPos, idx)
		if err != nil {
			return err
		}
		return m.push(opPos, v)
	case opGlobal:
		mod, err := m.readLine(opPos)
		if err != nil {
			return err
		}
		name, err := m.readLine(opPos)
		if err != nil {
			return err
		}
		g, err := m.global(opPos, fixImport(mod), name)
		if err != nil {
			return err
		}
		return m.push(opPos, g)
	case opStackGlobal:
		start := 0
		if m.canon && len(m.starts) >= 2 {
			start = m.starts[len(m.starts)-2]
		}
		nv, err := m.pop(opPos)
		if err != nil {
			return err
		}
		mv, err := m.pop(opPos)
		if err != nil {
			return err
		}
		mod, ok1 := mv.(string)
		name, ok2 := nv.(string)
		if !ok1 || !ok2 {
			return m.fail(opPos, ErrMalformed, "module and name must be str, got %s and %s", pyTypeName(mv), pyTypeName(nv))
		}
		g, err := m.global(opPos, mod, name)
		if err != nil {
			return err
		}
		return m.pushAt(opPos, start, g)
	case opReduce:
		fn, t, err := m.popCall(opPos, "REDUCE")
		if err != nil {
			return err
		}
		v, err := reduce(fn, t, m.b)
		if err != nil {
			return err
		}
		m.stack[len(m.stack)-1] = v
	case opNewobj:
		cls, t, err := m.popCall(opPos, "NEWOBJ")
		if err != nil {
			return err
		}
		if g, ok := cls.(globalRef); ok && g == (globalRef{managersModule, "Token"}) && t.n == 0 {
			m.stack[len(m.stack)-1] = &tokenNode{}
			return nil
		}
		m.stack[len(m.stack)-1] = &objNode{kind: opNewobj, fn: cls, args: t}
	case opNewobjEx:
		kw, err := m.pop(opPos)
		if err != nil {
			return err
		}
		cls, t, err := m.popCall(opPos, "NEWOBJ_EX")
		if err != nil {
			return err
		}
		if _, ok := kw.(*Dict); !ok {
			return m.fail(opPos, ErrMalformed, "NEWOBJ_EX keywords must be a dict, got %s", pyTypeName(kw))
		}
		m.stack[len(m.stack)-1] = &objNode{kind: opNewobjEx, fn: cls, args: t, kwargs: kw}
	case opBuild:
		state, t, err := m.popTop(opPos)
		if err != nil {
			return err
		}
		return m.build(opPos, t, state)
	default:
		return m.fail(opPos, ErrUnsupported, "opcode not decoded (protocols 2 to 5, without persistent IDs, extensions or out-of-band buffers)")
	}
	return nil
}

// pushAt pushes v for an opcode that consumed a MARK at offset at.
func (m *machine) pushAt(opPos, at int, v any) error {
	if err := m.push(opPos, v); err != nil {
		return err
	}
	if m.canon {
		m.starts[len(m.starts)-1] = at
	}
	return nil
}

func (m *machine) readLine(opPos int) (string, error) {
	i := strings.IndexByte(m.data[m.pos:], '\n')
	if i < 0 || i > 1024 {
		return "", m.fail(opPos, ErrTruncated, "GLOBAL name without newline")
	}
	s := m.data[m.pos : m.pos+i]
	m.pos += i + 1
	return s, nil
}

// fixImport maps the Python 2 module names protocol-2 pickles from Python 3 use
// (fix_imports) back to Python 3's.
func fixImport(mod string) string {
	switch mod {
	case "__builtin__", "exceptions":
		return "builtins"
	case "Queue":
		return "queue"
	case "copy_reg":
		return "copyreg"
	}
	return mod
}

// global resolves nothing: it makes an inert reference, refusing it in strict mode
// unless allow-listed.
func (m *machine) global(opPos int, mod, name string) (any, error) {
	if len(mod) > 256 || len(name) > 256 {
		return nil, m.fail(opPos, ErrLimit, "global name longer than 256 bytes")
	}
	if m.strict && !allowed(mod, name) {
		return nil, &Error{Offset: opPos, Op: m.data[opPos], Err: fmt.Errorf("global %q: %w", mod+"."+name, ErrForbidden)}
	}
	return globalRef{mod, name}, nil
}

func (m *machine) appendTo(opPos int, target any, items []any) error {
	switch t := target.(type) {
	case *listNode:
		if t.frozen {
			return m.fail(opPos, ErrUnsupported, "a list changed after it was put in a tuple (a recursive structure)")
		}
		if len(t.items)+len(items) > m.b.lim.MaxContainer {
			return m.fail(opPos, ErrLimit, "list of more than %d items", m.b.lim.MaxContainer)
		}
		t.items = append(t.items, items...)
	case *objNode:
		if t.frozen {
			return m.fail(opPos, ErrUnsupported, "an object changed after it was put in a tuple (a recursive structure)")
		}
		if len(t.ops)+len(items) > m.b.lim.MaxContainer {
			return m.fail(opPos, ErrLimit, "more than %d operations on one object", m.b.lim.MaxContainer)
		}
		for _, it := range items {
			t.ops = append(t.ops, objOp{op: opAppend, a: it})
		}
	default:
		return m.fail(opPos, ErrUnsupported, "APPEND to a %s", pyTypeName(target))
	}
	return nil
}

func (m *machine) setItems(opPos int, target any, items []any) error {
	if len(items)%2 != 0 {
		return m.fail(opPos, ErrMalformed, "odd number of values for SETITEMS")
	}
	switch t := target.(type) {
	case *Dict:
		if t.frozen {
			return m.fail(opPos, ErrUnsupported, "a dict changed after it was put in a tuple (a recursive structure)")
		}
		if t.Len()+len(items)/2 > m.b.lim.MaxContainer {
			return m.fail(opPos, ErrLimit, "dict of more than %d items", m.b.lim.MaxContainer)
		}
		for i := 0; i < len(items); i += 2 {
			k, err := hashKey(items[i], m.b)
			if err != nil {
				return err
			}
			t.set(k, items[i+1])
		}
	case *objNode:
		if t.frozen {
			return m.fail(opPos, ErrUnsupported, "an object changed after it was put in a tuple (a recursive structure)")
		}
		if len(t.ops)+len(items)/2 > m.b.lim.MaxContainer {
			return m.fail(opPos, ErrLimit, "more than %d operations on one object", m.b.lim.MaxContainer)
		}
		for i := 0; i < len(items); i += 2 {
			t.ops = append(t.ops, objOp{op: opSetitem, a: items[i], b: items[i+1]})
		}
	default:
		return m.fail(opPos, ErrUnsupported, "SETITEM on a %s", pyTypeName(target))
	}
	return nil
}

func (m *machine) build(opPos int, target, state any) error {
	switch t := target.(type) {
	case *tokenNode:
		if t.frozen {
			return m.fail(opPos, ErrUnsupported, "a Token changed after it was put in a tuple")
		}
		st, ok := state.(Tuple)
		if !ok || st.n != 3 {
			return m.fail(opPos, ErrMalformed, "Token state must be (typeid, address, id), got %s", pyTypeName(state))
		}
		e, err := st.Elems()
		if err != nil {
			return err
		}
		typeid, ok1 := e[0].(string)
		id, ok2 := e[2].(string)
		if !ok1 || !ok2 {
			return m.fail(opPos, ErrMalformed, "Token typeid and id must be str")
		}
		t.tok = Token{TypeID: typeid, Address: e[1], ID: id}
	case *objNode:
		if t.frozen {
			return m.fail(opPos, ErrUnsupported, "an object changed after it was put in a tuple (a recursive structure)")
		}
		if len(t.ops) >= m.b.lim.MaxContainer {
			return m.fail(opPos, ErrLimit, "more than %d operations on one object", m.b.lim.MaxContainer)
		}
		t.ops = append(t.ops, objOp{op: opBuild, a: state})
	case *Exception:
		if t.frozen {
			return m.fail(opPos, ErrUnsupported, "an exception changed after it was put in a tuple")
		}
		t.State = state
	default:
		return m.fail(opPos, ErrUnsupported, "BUILD on a %s", pyTypeName(target))
	}
	return nil
}

func leUint(s string) uint64 {
	var n uint64
	for i := len(s) - 1; i >= 0; i-- {
		n = n<<8 | uint64(s[i])
	}
	return n
}

// pick returns a if cond, else b: the operand width of an opcode's short and long forms.
func pick(cond bool, a, b int) int {
	if cond {
		return a
	}
	return b
}
