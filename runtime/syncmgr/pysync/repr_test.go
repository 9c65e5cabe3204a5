package pysync

import (
	"math"
	"strings"
	"testing"

	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
)

// str(proxy) of a value whose parts are shared — a list holding one list twice, 40 deep:
// a few hundred bytes of pickle, 2^40 lists spelled out — ends at maxRepr bytes instead
// of spending the manager's memory and time under the object's lock.
func TestReprOfSharedPartsIsBounded(t *testing.T) {
	x := []any{int64(1)}
	for range 40 {
		x = []any{x, x}
	}
	got := repr(x)
	if len(got) > maxRepr+3 || !strings.HasSuffix(got, "...") || !strings.HasPrefix(got, "[[[[") {
		t.Fatalf("repr of 2^40 shared lists: %d bytes ending %q, want at most %d ending \"...\"", len(got), got[max(0, len(got)-10):], maxRepr+3)
	}
}

// Python's repr of floats, as CPython 3 writes them.
func TestFloatRepr(t *testing.T) {
	for _, tc := range []struct {
		x    float64
		want string
	}{
		{1, "1.0"}, {0.1, "0.1"}, {1e6, "1000000.0"}, {1e15, "1000000000000000.0"}, {1e16, "1e+16"},
		{1.5e16, "1.5e+16"}, {0.0001, "0.0001"}, {0.00001, "1e-05"}, {-2.5, "-2.5"},
		{math.Inf(1), "inf"}, {math.Inf(-1), "-inf"}, {math.NaN(), "nan"}, {123456789.125, "123456789.125"},
	} {
		if got := repr(tc.x); got != tc.want {
			t.Errorf("repr(%v) = %q, want %q", tc.x, got, tc.want)
		}
	}
	one, err := pickle.MakeTuple(int64(1))
	if err != nil {
		t.Fatal(err)
	}
	if got := repr(one); got != "(1,)" {
		t.Errorf("repr of a 1-tuple = %q", got)
	}
	if got := repr([]any{"it's", `a'b"c`, "tab\tnl\n\\", pickle.Bytes("b"), nil, true}); got != `["it's", 'a\'b"c', 'tab\tnl\n\\', b'b', None, True]` {
		t.Errorf("repr of a list = %q", got)
	}
	if got := repr(pickle.Bytes("\x00\xffa'\n")); got != `b"\x00\xffa'\n"` {
		t.Errorf("repr of bytes = %q", got)
	}
}
