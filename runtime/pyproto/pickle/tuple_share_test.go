package pickle

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// sharedConfig returns a 1.7 KB dict like a program's config (100 keys of 10-byte
// values) and a list holding it n times.
func sharedConfig(n int) (*Dict, []any) {
	cfg := NewDict()
	for i := range 100 {
		cfg.Set(fmt.Sprintf("k%d", i), strings.Repeat("v", 10))
	}
	l := make([]any, n)
	for i := range l {
		l[i] = cfg
	}
	return cfg, l
}

// TestSharedConfigDecodesLinear: a reply ('#RETURN', [cfg]*40000) and a request
// l.append([cfg]*40000) — 80 KB of pickle, one dict referenced 40000 times — decode
// with work in proportion to the input. The tuples hold a list, so they are unhashable
// and keep it by reference: nothing is spelled out, as the budget of canonical bytes
// (MaxExpand set to the input's size) and the bytes allocated show. Spelled out, the
// tuples were 68 MB of canonical body (refused at 1 MiB, later at 64 MiB of work).
func TestSharedConfigDecodesLinear(t *testing.T) {
	const n = 40000
	_, list := sharedConfig(n)
	for name, msg := range map[string]any{
		"reply":   TupleOf{"#RETURN", list},
		"request": TupleOf{"7f0e58319050", "append", TupleOf{list}, NewDict()},
	} {
		t.Run(name, func(t *testing.T) {
			p := mustEncode(t, msg)
			opts := Options{Limits: Limits{MaxExpand: len(p)}}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			v, err := opts.Decode(p)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatalf("%d-byte message with MaxExpand = its size: %v", len(p), err)
			}
			// Measured: about 55 bytes allocated per input byte (the stack, the list's
			// items and batches, the result); spelled out, the tuple bodies alone were
			// over 800.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 128*uint64(len(p))+1<<20 {
				t.Errorf("decoding %d bytes allocated %d", len(p), alloc)
			}
			elems, err := v.(Tuple).Elems()
			if err != nil {
				t.Fatal(err)
			}
			var items []any
			if name == "reply" {
				items = elems[1].([]any)
			} else {
				args, err := elems[2].(Tuple).Elems()
				if err != nil {
					t.Fatal(err)
				}
				items = args[0].([]any)
			}
			if len(items) != n {
				t.Fatalf("%d items, want %d", len(items), n)
			}
			first, ok := items[0].(*Dict)
			if !ok || first.Len() != 100 || items[n-1] != first {
				t.Fatalf("items are not one dict of 100 used %d times: %T", n, items[n-1])
			}
			// And back out as small as it came.
			if q := mustEncode(t, v); len(q) > len(p)+64 {
				t.Errorf("%d-byte message re-encoded to %d bytes", len(p), len(q))
			}
		})
	}
}

// TestTupleHoldingListShares: a tuple holding a list holds that list, as in Python:
// l = [1]; d = {'a': 1}; ((l, d), l, d) decodes to one []any and one *Dict reached
// through both paths, so a change through one is seen through the other.
func TestTupleHoldingListShares(t *testing.T) {
	l, d := []any{int64(1)}, dictOf("a", int64(1))
	v := mustDecode(t, mustEncode(t, TupleOf{TupleOf{l, d}, l, d}))
	outer, err := v.(Tuple).Elems()
	if err != nil {
		t.Fatal(err)
	}
	inner, err := outer[0].(Tuple).Elems()
	if err != nil {
		t.Fatal(err)
	}
	inner[0].([]any)[0] = "changed"
	if got := outer[1].([]any)[0]; got != "changed" {
		t.Errorf("list through the tuple and directly differ: %v", got)
	}
	inner[1].(*Dict).Set("b", int64(2))
	if got, ok := outer[2].(*Dict).Get("b"); !ok || got != int64(2) {
		t.Errorf("dict through the tuple and directly differ: %v", got)
	}
	// Unhashable, as in Python, and == only to itself.
	if err := Hashable(v); err == nil || !strings.Contains(err.Error(), "'list'") {
		t.Errorf("Hashable(tuple holding a list) = %v, want unhashable type: 'list'", err)
	}
	if _, ok := NewDict().Get(v); ok {
		t.Error("an unhashable tuple found in an empty dict")
	}
	a, b := MustTuple(1, []any{2}), MustTuple(1, []any{2})
	if a == b || !map[any]bool{a: true}[a] {
		t.Error("unhashable tuples must compare by identity")
	}
	// A dict key holding an unhashable tuple is refused, as Python refuses it.
	p := []byte{opProto, 4, opEmptyDict, opEmptyList, opTuple1, opNone, opSetitem, opStop}
	if _, err := Decode(p); err == nil || !strings.Contains(err.Error(), "unhashable") {
		t.Errorf("dict keyed by a tuple holding a list: %v", err)
	}
}

// TestHashableTuplesStillKeys: tuples of hashable values stay comparable by content —
// a dict key decoded from a pickle is found with a tuple Go code builds, and two
// decodings of equal tuples are ==.
func TestHashableTuplesStillKeys(t *testing.T) {
	key := MustTuple(1, "a", MustTuple(2.5, Bytes("b")), mustFS(3))
	d := mustDecode(t, mustEncode(t, dictOf(key, "v"))).(*Dict)
	if got, ok := d.Get(MustTuple(int64(1), "a", MustTuple(2.5, Bytes("b")), mustFS(3))); !ok || got != "v" {
		t.Errorf("tuple key not found: %v %v", got, ok)
	}
	a, b := mustDecode(t, mustEncode(t, key)), mustDecode(t, mustEncode(t, TupleOf{1, "a", TupleOf{2.5, Bytes("b")}, mustFS(3)}))
	if a != b || a != key {
		t.Errorf("equal hashable tuples differ: %v, %v, %v", a, b, key)
	}
	m := map[any]int{a: 1}
	if m[b] != 1 {
		t.Error("decoded tuple is not a Go map key for an equal one")
	}
	if err := Hashable(a); err != nil {
		t.Error(err)
	}
}

// TestHashableTupleLaughsBounded: hashable tuples are still spelled out, so nesting
// shared ones — t = ('x'*64,); t = (t, t) sixty-four times — is still refused by the
// expansion bound.
func TestHashableTupleLaughsBounded(t *testing.T) {
	p := append([]byte{opProto, 4}, binunicode(strings.Repeat("x", 64))...)
	p = append(p, opTuple1, opMemoize)
	for i := range 64 {
		p = append(p, opBinget, byte(i), opBinget, byte(i), opTuple2, opMemoize)
	}
	p = append(p, opStop)
	if _, err := Decode(p); !errors.Is(err, ErrLimit) {
		t.Errorf("2^64 nested shared tuples: %v, want ErrLimit", err)
	}
}

// TestGlobalsReadUnhashableTuples: the interpreted globals read their argument tuple's
// elements while decoding, finished: set([1, 2]) with the list also referenced after
// it, and an object's arguments holding a list (Opaque.Args).
func TestGlobalsReadUnhashableTuples(t *testing.T) {
	p := []byte{opProto, 4, opMark, opGlobal}
	p = append(p, "builtins\nset\n"...)
	p = append(p, opEmptyList, opMemoize, opMark, opBinint1, 1, opBinint1, 2, opAppends, opTuple1, opReduce)
	p = append(p, opBinget, 0, opList, opStop)
	v := mustDecode(t, p).([]any)
	s, ok := v[0].(Set)
	if _, two := s[int64(2)]; !ok || len(s) != 2 || !two {
		t.Errorf("set([1, 2]) = %#v", v[0])
	}
	if l, ok := v[1].([]any); !ok || len(l) != 2 {
		t.Errorf("the list = %#v", v[1])
	}

	o := []byte{opProto, 4, opGlobal}
	o = append(o, "__main__\nPoint\n"...)
	o = append(o, opEmptyList, opMark, opBinint1, 1, opBinint1, 2, opAppends, opTuple1, opReduce, opStop)
	obj := mustDecode(t, o).(Opaque)
	args, ok := obj.Args()
	if !ok || len(args) != 1 {
		t.Fatalf("Args = %#v, %v", args, ok)
	}
	if l, ok := args[0].([]any); !ok || len(l) != 2 || l[1] != int64(2) {
		t.Errorf("Args()[0] = %#v, want [1 2]", args[0])
	}
	// Its pickle written back inside another value decodes to the same object.
	if back := mustDecode(t, mustEncode(t, []any{obj, obj})).([]any); back[0] != obj || back[1] != obj {
		t.Errorf("opaque with a list argument changed on the way back: %v", back)
	}
}
