package pickle

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
)

func mustDecode(t *testing.T, p []byte) any {
	t.Helper()
	v, err := Decode(p)
	if err != nil {
		t.Fatalf("decode %q: %v", p, err)
	}
	return v
}

func mustEncode(t *testing.T, v any) []byte {
	t.Helper()
	p, err := Encode(v)
	if err != nil {
		t.Fatalf("encode %#v: %v", v, err)
	}
	return p
}

// Hashable Python values decode to comparable Go values that are equal when the Python
// values are, so pyfront can store them as Go map keys.
func TestKeysAreComparable(t *testing.T) {
	m := map[any]int{}
	vals := []any{
		nil, true, int64(3), 1.5, "s", Bytes("b"), MustTuple(1, "a", MustTuple(2)), mustFS(1, 2),
		NewBigInt(new(big.Int).Lsh(big.NewInt(1), 70)), complex(1, 2),
	}
	for i, v := range vals {
		m[mustDecode(t, mustEncode(t, v))] = i
	}
	for i, v := range vals {
		// A second, independent decoding finds the same entry.
		if got, ok := m[mustDecode(t, mustEncode(t, v))]; !ok || got != i {
			t.Errorf("%#v: lookup gave %d, %v", v, got, ok)
		}
	}
	// Same tuple built by Go and by decoding.
	if mustDecode(t, mustEncode(t, MustTuple(int64(1), "x"))) != MustTuple(1, "x") {
		t.Error("MakeTuple(1, \"x\") differs from its decoding")
	}
	// Frozenset order does not matter.
	if mustFS(1, 2, 3) != mustFS(3, 1, 2) {
		t.Error("frozensets differ by order")
	}
}

func TestPyKey(t *testing.T) {
	big70 := NewBigInt(new(big.Int).Lsh(big.NewInt(1), 70))
	for _, c := range []struct{ a, b any }{
		{int64(1), 1.0}, {int64(1), true}, {int64(0), false}, {int64(0), math.Copysign(0, -1)}, {int64(2), complex(2, 0)},
		{big70, math.Ldexp(1, 70)}, {MustTuple(1, "x"), MustTuple(1.0, "x")}, {MustTuple(MustTuple(true)), MustTuple(MustTuple(1))},
		{mustFS(1, 2), mustFS(2.0, true)}, {NewBigInt(big.NewInt(5)), int64(5)},
	} {
		if PyKey(c.a) != PyKey(c.b) {
			t.Errorf("PyKey(%v) = %#v, PyKey(%v) = %#v: want equal", c.a, PyKey(c.a), c.b, PyKey(c.b))
		}
	}
	for _, c := range []struct{ a, b any }{{int64(1), 1.5}, {"1", int64(1)}, {Bytes("a"), "a"}, {MustTuple(1), MustTuple(1.5)}} {
		if PyKey(c.a) == PyKey(c.b) {
			t.Errorf("PyKey(%v) == PyKey(%v)", c.a, c.b)
		}
	}
	if k := PyKey(math.NaN()); k == k {
		t.Error("NaN key equals itself")
	}
}

func TestBigInt(t *testing.T) {
	for _, s := range []string{"1180591620717411303424", "-1180591620717411303424", "9223372036854775808", "-9223372036854775809", "255", "-256", "128", "-129"} {
		x, _ := new(big.Int).SetString(s, 10)
		v := mustDecode(t, mustEncode(t, x))
		var got *big.Int
		switch y := v.(type) {
		case int64:
			got = big.NewInt(y)
		case BigInt:
			got = y.Big()
		default:
			t.Fatalf("%s: %T", s, v)
		}
		if got.Cmp(x) != 0 {
			t.Errorf("%s: got %s", s, got)
		}
		if x.IsInt64() {
			if _, ok := v.(int64); !ok {
				t.Errorf("%s: decoded as %T, want int64", s, v)
			}
		}
	}
}

func TestDictOrderAndKeys(t *testing.T) {
	d := dictOf("b", 1, MustTuple(1, 2), 2, "a", 3)
	got := mustDecode(t, mustEncode(t, d)).(*Dict)
	if k := got.Keys(); len(k) != 3 || k[0] != "b" || k[1] != MustTuple(1, 2) || k[2] != "a" {
		t.Errorf("keys %v", k)
	}
	if v, ok := got.Get(MustTuple(1, 2)); !ok || v != int64(2) {
		t.Errorf("Get((1, 2)) = %v, %v", v, ok)
	}
	if !got.Delete("b") || got.Len() != 2 {
		t.Error("Delete")
	}
	if v, _ := got.Get("a"); v != int64(3) {
		t.Errorf("after Delete, a = %v", v)
	}
	if _, ok := got.Get([]any{1}); ok {
		t.Error("Get with an unhashable key found something")
	}
}

func TestEncodeGoErrors(t *testing.T) {
	for _, v := range []any{make(chan int), func() {}, struct{ A int }{1}} {
		if _, err := Encode(v); err == nil {
			t.Errorf("Encode(%T) succeeded", v)
		}
	}
	self := map[string]any{}
	self["self"] = self
	if _, err := Encode(self); !errors.Is(err, ErrLimit) {
		t.Errorf("self-containing map: %v", err)
	}
	if _, err := MakeFrozenSet([]any{1}); err == nil {
		t.Error("frozenset with a list member")
	}
}

// TestSharedLists: a pickle whose lists each hold the next one twice is small, and so
// must be its re-encoding (no exponential expansion on the way back out).
func TestSharedLists(t *testing.T) {
	p := []byte{opProto, 4, opEmptyList, opMemoize, opPop}
	for i := range 64 {
		p = append(p, opEmptyList, opMemoize, opMark, opBinget, byte(i), opBinget, byte(i), opAppends, opPop)
	}
	p = append(p, opBinget, 64, opStop)
	v := mustDecode(t, p)
	q := mustEncode(t, v)
	if len(q) > 4*len(p) {
		t.Errorf("%d-byte pickle re-encoded to %d bytes", len(p), len(q))
	}
	// Still 2^64 leaves for Python: spot-check the shape.
	l := mustDecode(t, q).([]any)
	for range 64 {
		if len(l) != 2 {
			t.Fatalf("len %d", len(l))
		}
		l = l[0].([]any)
	}
	// In a tuple it stays shared too: a tuple holding a list is unhashable, so it holds
	// the list by reference instead of spelling it out.
	p[len(p)-1] = opTuple1
	p = append(p, opStop)
	tv, err := Decode(p)
	if err != nil {
		t.Fatalf("tuple of shared lists: %v", err)
	}
	if q := mustEncode(t, tv); len(q) > 4*len(p) {
		t.Errorf("%d-byte pickle of a tuple re-encoded to %d bytes", len(p), len(q))
	}
}

func TestTupleOf(t *testing.T) {
	v := []any{1, "x", []any{2}, dictOf("k", 3)}
	// Both read back as the same tuple (a tuple holding a list keeps it by reference, so
	// MakeTuple's tuple memoizes the list and dict as TupleOf does; only the tuple's own
	// MEMOIZE differs).
	back := func(v any) []byte { return mustEncode(t, mustDecode(t, mustEncode(t, v))) }
	if a, b := back(TupleOf(v)), back(MustTuple(v...)); !bytes.Equal(a, b) {
		t.Errorf("TupleOf gives %q, MustTuple %q", a, b)
	}
}

func TestRecursiveDict(t *testing.T) {
	d := NewDict()
	d.Set("me", d)
	got := mustDecode(t, mustEncode(t, d)).(*Dict)
	if v, _ := got.Get("me"); v != got {
		t.Error("recursive dict lost its identity")
	}
}

func hx(s string) []byte {
	s = strings.ReplaceAll(s, " ", "")
	b := make([]byte, len(s)/2)
	for i := range b {
		var c byte
		for _, r := range s[2*i : 2*i+2] {
			c <<= 4
			switch {
			case r >= '0' && r <= '9':
				c |= byte(r - '0')
			default:
				c |= byte(r-'a') + 10
			}
		}
		b[i] = c
	}
	return b
}

// TestHostile feeds malformed and malicious pickles: each must fail with the expected
// kind of error, never panic, and never allocate beyond the limits.
func TestHostile(t *testing.T) {
	laughs := []byte{opProto, 4, opShortBinunicode, 8}
	laughs = append(laughs, "hahahaha"...)
	for range 60 {
		laughs = append(laughs, opMemoize, opDup, opTuple2)
	}
	laughs = append(laughs, opStop)

	deep := []byte{opProto, 4}
	for range 5000 {
		deep = append(deep, opEmptyList)
	}
	for range 4999 {
		deep = append(deep, opAppend)
	}
	deep = append(deep, opStop)

	marks := append([]byte{opProto, 4}, bytes.Repeat([]byte{opMark}, 5000)...)

	cases := []struct {
		name string
		in   []byte
		want error
		msg  string
	}{
		{"empty", nil, ErrTruncated, "no STOP"},
		{"proto only", []byte{0x80, 4}, ErrTruncated, ""},
		{"proto 1", []byte{0x80, 1, 'N', '.'}, ErrUnsupported, "protocol 1"},
		{"text opcode", []byte("I1\n."), ErrUnsupported, "opcode 0x49 INT"},
		{"persid", []byte("\x80\x04N\x51."), ErrUnsupported, "BINPERSID"},
		{"stop on empty stack", []byte{'.'}, ErrMalformed, ""},
		{"two values", []byte("NN."), ErrMalformed, "2 values"},
		{"trailing", []byte("N.N"), ErrMalformed, "after STOP"},
		{"huge str", hx("80 04 58 ff ff ff ff 61 2e"), ErrLimit, "BINUNICODE"},
		{"huge str8", hx("80 04 8d ff ff ff ff ff ff ff ff"), ErrLimit, "MaxString"},
		{"short str", hx("80 04 58 05 00 00 00 61 2e"), ErrTruncated, "needs 5 bytes"},
		{"huge frame", hx("80 04 95 ff ff ff ff 00 00 00 00 4e 2e"), ErrTruncated, "frame"},
		{"memo index", hx("80 04 4e 72 ff ff ff ff 2e"), ErrLimit, "memo index"},
		{"memo unset", hx("80 04 68 05 2e"), ErrMalformed, "memo index 5 not set"},
		{"underflow", hx("80 04 85 2e"), ErrMalformed, "underflow"},
		{"append to int", hx("80 04 4b 01 4e 61 2e"), ErrUnsupported, "APPEND to a int"},
		{"unhashable key", hx("80 04 7d 5d 4e 73 2e"), nil, "unhashable type: 'list'"},
		{"unhashable member", hx("80 04 8f 28 7d 90 2e"), nil, "unhashable type: 'dict'"},
		{"reduce non-tuple", hx("80 04 8c 08 62 75 69 6c 74 69 6e 73 8c 03 6c 65 6e 93 4e 52 2e"), ErrMalformed, "must be a tuple"},
		{"global not str", hx("80 04 4b 01 4b 02 93 2e"), ErrMalformed, "must be str"},
		{"recursive list", hx("80 04 5d 94 68 00 61 2e"), ErrUnsupported, "contains itself"},
		{"recursive tuple", hx("80 04 5d 94 68 00 85 61 2e"), ErrUnsupported, "recursive"},
		{"billion laughs", laughs, ErrLimit, "MaxExpand"},
		{"deep", deep, ErrLimit, "nesting"},
		{"marks", marks, ErrLimit, "MaxDepth"},
		{"long global line", append([]byte("c"), bytes.Repeat([]byte("a"), 3000)...), ErrTruncated, "newline"},
		{"odd setitems", hx("80 04 7d 28 4e 75 2e"), ErrMalformed, "odd"},
		{"build on list", hx("80 04 5d 7d 62 2e"), ErrUnsupported, "BUILD on a list"},
		{"token state", []byte(string(hx("80 04 8c 18")) + "multiprocessing.managers" + string(hx("8c 05")) + "Token" + string(hx("93 29 81 4e 62 2e"))), ErrMalformed, "Token state"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.in)
			if err == nil {
				t.Fatal("decoded")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("error %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.msg) || !strings.HasPrefix(err.Error(), "pickle: ") {
				t.Errorf("error %q does not contain %q", err, c.msg)
			}
		})
	}
}

func TestStrictGlobals(t *testing.T) {
	// os.system(...) via STACK_GLOBAL + REDUCE.
	p := hx("80 04 95 00 00 00 00 00 00 00 00 8c 02") // PROTO, FRAME, SHORT_BINUNICODE 2
	p = append(p, "os"...)
	p = append(p, 0x8c, 6)
	p = append(p, "system"...)
	p = append(p, 0x93, 0x8c, 2, 'l', 's', 0x85, 'R', '.')
	_, err := Options{Strict: true}.Decode(p)
	if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), `offset 23: opcode 0x93 STACK_GLOBAL: global "os.system": not on the allow-list`) {
		t.Errorf("strict: %v", err)
	}
	v, err := Decode(p)
	if err != nil {
		t.Fatal(err)
	}
	o, ok := v.(Opaque)
	if !ok {
		t.Fatalf("got %T", v)
	}
	if m, n := o.Global(); m != "os" || n != "system" {
		t.Errorf("Global() = %s.%s", m, n)
	}
	if a, ok := o.Args(); !ok || len(a) != 1 || a[0] != "ls" {
		t.Errorf("Args() = %v, %v", a, ok)
	}
	// Written back unchanged (never run).
	if got := mustDecode(t, mustEncode(t, []any{o})).([]any)[0]; got != o {
		t.Errorf("re-encoded opaque differs: %q vs %q", got.(Opaque).pkl, o.pkl)
	}
	// Strict still admits the manager's own globals.
	if _, err := (Options{Strict: true}).Decode(mustEncode(t, MustTuple("#ERROR", &Exception{Module: "_queue", Name: "Empty"}, token))); err != nil {
		t.Errorf("strict refused the allow-list: %v", err)
	}
}

// TestTruncations decodes every prefix of a rich pickle: all fail cleanly.
func TestTruncations(t *testing.T) {
	p := mustEncode(t, []any{MustTuple(1, "a", Bytes("b")), dictOf("k", []any{2.5, nil}), token,
		&Exception{Module: "builtins", Name: "KeyError", Args: []any{"x"}}, Set{1: {}}, mustFS(2)})
	for i := range p {
		if _, err := Decode(p[:i]); err == nil {
			t.Errorf("prefix of %d bytes decoded", i)
		}
	}
}

func TestLimits(t *testing.T) {
	p := mustEncode(t, []any{1, 2, 3, "abcdef"})
	if _, err := (Options{Limits: Limits{MaxSize: 5}}).Decode(p); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxSize: %v", err)
	}
	if _, err := (Options{Limits: Limits{MaxContainer: 2}}).Decode(p); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxContainer: %v", err)
	}
	if _, err := (Options{Limits: Limits{MaxString: 3}}).Decode(p); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxString: %v", err)
	}
	if _, err := (Options{Limits: Limits{MaxDepth: 1}}).Decode(mustEncode(t, []any{[]any{[]any{}}})); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxDepth: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, v := range []any{
		nil, MustTuple(nil, "create", MustTuple("Counter"), NewDict()), []any{1, 2.5, "x", Bytes("y")},
		dictOf(MustTuple(1, 2), Set{1: {}}), token, &Exception{Module: "builtins", Name: "KeyError", Args: []any{"k"}},
		&Proxy{Module: managersModule, Class: "AutoProxy", Token: token, Kwds: dictOf("exposed", MustTuple("get"))},
	} {
		p, err := Encode(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	lim := Limits{MaxSize: 1 << 16, MaxMemo: 1 << 10, MaxContainer: 1 << 12, MaxExpand: 1 << 18}
	f.Fuzz(func(t *testing.T, p []byte) {
		v, err := Options{Limits: lim}.Decode(p)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) && !strings.HasPrefix(err.Error(), "pickle: ") {
				t.Fatalf("error without position: %v", err)
			}
			return
		}
		// The fast path for tuple bodies agrees with the machine.
		if tu, ok := v.(Tuple); ok && tu.Len() > 0 && tu.ref == nil {
			if fast, ok := fastSeq(tu.enc, tu.n); ok {
				slow, err := machineSeq(tu.enc, tu.n)
				if err != nil {
					t.Fatalf("machine fails where fastSeq decodes %q: %v", tu.enc, err)
				}
				a, err1 := Encode(fast)
				b, err2 := Encode(slow)
				if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
					t.Fatalf("fastSeq and machine differ on %q: %q vs %q", tu.enc, a, b)
				}
			}
		}
		// Whatever decodes encodes, and decodes again to the same encoding.
		q, err := Encode(v)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", v, err)
		}
		w, err := Decode(q)
		if err != nil {
			t.Fatalf("re-encoding %q does not decode: %v", q, err)
		}
		r, err := Encode(w)
		if err != nil || !bytes.Equal(q, r) {
			t.Fatalf("unstable encoding: %q then %q (%v)", q, r, err)
		}
	})
}
