package pickle

import (
	"math"
	"strings"
	"testing"
)

// An exception a Python peer sent, whose argument shares its parts (a list holding one
// list twice, 40 deep), formats in bounded space: its message is cut at maxRepr.
func TestReprOfSharedPartsIsBounded(t *testing.T) {
	x := []any{int64(1)}
	for range 40 {
		x = []any{x, x}
	}
	for _, e := range []*Exception{{Name: "ValueError", Args: []any{x}}, {Name: "ValueError", Args: []any{x, x}}} {
		msg := e.Error()
		if len(msg) > maxRepr+64 || !strings.HasSuffix(msg, "...") {
			t.Fatalf("message of an exception with 2^40 shared lists: %d bytes ending %q", len(msg), msg[max(0, len(msg)-10):])
		}
	}
	tup, err := MakeTuple(int64(1), "a'b")
	if err != nil {
		t.Fatal(err)
	}
	if got := tup.String(); got != `(1, "a'b")` {
		t.Errorf("Tuple.String = %q", got)
	}
	one, err := MakeTuple(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := one.String(); got != "(None,)" {
		t.Errorf("Tuple.String of a 1-tuple = %q", got)
	}
}

// Repr writes values as CPython's repr does (checked against CPython 3.12), and stops at
// its limit with "...".
func TestReprMatchesCPython(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{1.0, "1.0"}, {0.1, "0.1"}, {1e6, "1000000.0"}, {1e15, "1000000000000000.0"}, {1e16, "1e+16"},
		{1.5e16, "1.5e+16"}, {0.0001, "0.0001"}, {0.00001, "1e-05"}, {-2.5, "-2.5"},
		{math.Inf(1), "inf"}, {math.Inf(-1), "-inf"}, {math.NaN(), "nan"}, {123456789.125, "123456789.125"},
		{[]any{"it's", `a'b"c`, "tab\tnl\n\\", "é", Bytes("b"), nil, true, int64(-3)}, `["it's", 'a\'b"c', 'tab\tnl\n\\', 'é', b'b', None, True, -3]`},
		{Bytes("\x00\xffa'\n"), `b"\x00\xffa'\n"`},
		{&Exception{Name: "KeyError", Args: []any{"k"}}, "KeyError('k')"},
	} {
		if got := Repr(tc.v, 1<<10); got != tc.want {
			t.Errorf("Repr(%#v) = %q, want %q", tc.v, got, tc.want)
		}
	}
	x := []any{int64(1)}
	for range 40 {
		x = []any{x, x}
	}
	if got := Repr(x, 100); len(got) != 103 || !strings.HasSuffix(got, "...") {
		t.Errorf("Repr of 2^40 shared lists within 100 bytes: %d bytes, %q", len(got), got)
	}
}
