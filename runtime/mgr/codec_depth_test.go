package mgr_test

import (
	"strings"
	"testing"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// cycle is a self-referential type: a value of it can point at itself.
type cycle struct {
	Name string
	Next *cycle
}

// An argument holding a pointer cycle must fail its encoding with an error, not recurse
// until the goroutine's stack overflows and kills the whole process.
func TestEncodePointerCycleFails(t *testing.T) {
	c := &cycle{Name: "a"}
	c.Next = c
	e := mgr.NewEncoder(nil)
	e.Value(c)
	if e.Err() == nil || !strings.Contains(e.Err().Error(), "deeper than") {
		t.Fatalf("encoding a pointer cycle: err = %v, want one naming the nesting bound", e.Err())
	}
}

// A value nested deeper than a receiver accepts fails where it is sent, with the bound in
// the message, instead of reaching the receiver and being refused there.
func TestEncodeTooDeepFails(t *testing.T) {
	var v any = "leaf"
	for range mgr.DefaultMaxDepth + 1 {
		v = []any{v}
	}
	e := mgr.NewEncoder(nil)
	e.Value(v)
	if e.Err() == nil || !strings.Contains(e.Err().Error(), "deeper than") {
		t.Fatalf("encoding %d nested lists: err = %v, want one naming the nesting bound", mgr.DefaultMaxDepth+1, e.Err())
	}
	// Within the bound it still travels and decodes (each list inside an any is two
	// levels, the interface and the slice, on both sides).
	v = "leaf"
	for range mgr.DefaultMaxDepth/2 - 1 {
		v = []any{v}
	}
	e = mgr.NewEncoder(nil)
	e.Value(v)
	if e.Err() != nil {
		t.Fatalf("encoding %d nested lists: %v", mgr.DefaultMaxDepth/2-1, e.Err())
	}
	var back []any // the top level travels as the slice it is, not inside an any
	d := mgr.NewDecoder(e.Bytes())
	d.Value(&back)
	if err := d.Done(); err != nil {
		t.Fatalf("decoding %d nested lists: %v", mgr.DefaultMaxDepth/2-1, err)
	}
}
