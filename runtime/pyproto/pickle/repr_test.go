package pickle

import (
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
	if got := tup.String(); got != `(1, 'a\'b')` {
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
