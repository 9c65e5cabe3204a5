package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// Hostile pickles that stay small and decode within the limits, but whose decoded
// values cost far more than their size downstream: re-encoded (a reply carrying a value
// a client stored), built into a canonical tuple or set, or hashed as keys.

// binunicode returns BINUNICODE s.
func binunicode(s string) []byte {
	b := []byte{opBinunicode, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(b[1:], uint32(len(s)))
	return append(b, s...)
}

// repeated returns a pickle of a list holding the value that one's opcodes build, then
// n-1 memo references to it (memo index 1; the list is index 0).
func repeated(one []byte, n int) []byte {
	p := []byte{opProto, 4, opEmptyList, opMemoize, opMark}
	p = append(p, one...)
	p = append(p, opMemoize)
	for range n - 1 {
		p = append(p, opBinget, 1)
	}
	return append(p, opAppends, opStop)
}

// TestRepeatedValuesReencodeShared: a value referenced many times through the memo
// (as CPython's pickler writes [x] * n) decodes to one Go value used n times, and must
// be written back as memo references too. Re-encoding it in full each time turned a
// 40 KB pickle into a 400 MB reply (and 3 MB into 1 TB).
func TestRepeatedValuesReencodeShared(t *testing.T) {
	const size, n = 16 << 10, 10000
	big := strings.Repeat("x", size)
	object := append([]byte{opGlobal}, "__main__\nPoint\n"...)
	object = append(object, opEmptyTuple, opNewobj)
	object = append(append(object, binunicode(big)...), opBuild)
	bareGlobal := append([]byte{opGlobal}, strings.Repeat("m", 200)+"\n"+strings.Repeat("n", 200)+"\n"...)
	cases := map[string][]byte{
		"str":    binunicode(big),
		"bytes":  append([]byte{opBinbytes, 0, 0x40, 0, 0}, big...),
		"tuple":  append(binunicode(big), opTuple1),
		"opaque": object,
		"global": bareGlobal,
	}
	for name, one := range cases {
		t.Run(name, func(t *testing.T) {
			in := repeated(one, n)
			v, err := Decode(in)
			if err != nil {
				t.Fatal(err)
			}
			out, err := Encode(v)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) > 2*len(in)+1024 {
				t.Fatalf("%d-byte pickle re-encoded to %d bytes", len(in), len(out))
			}
			back := mustDecode(t, out).([]any)
			if len(back) != n {
				t.Fatalf("%d values back, want %d", len(back), n)
			}
			first := v.([]any)[0]
			for i, x := range back {
				if x != first {
					t.Fatalf("value %d differs after the round trip", i)
				}
			}
		})
	}
}

// sharedLists returns opcodes that build a list of two references to a list of two
// references … depth deep: tiny, with 2^depth leaves once spelled out.
func sharedLists(depth int) []byte {
	p := []byte{opEmptyList, opLongBinput, 0, 0, 1, 0, opPop} // memo index 1<<16, clear of others
	for i := range depth {
		idx := 1<<16 + i
		p = append(p, opEmptyList, opLongBinput)
		p = binary.LittleEndian.AppendUint32(p, uint32(idx+1))
		p = append(p, opMark, opLongBinget)
		p = binary.LittleEndian.AppendUint32(p, uint32(idx))
		p = append(p, opLongBinget)
		p = binary.LittleEndian.AppendUint32(p, uint32(idx))
		p = append(p, opAppends, opPop)
	}
	p = append(p, opLongBinget)
	return binary.LittleEndian.AppendUint32(p, uint32(1<<16+depth))
}

// TestMakeTupleOfSharedValuesBounded: values a peer sent (a list holding one list twice,
// 26 levels deep: a few hundred bytes) put in a tuple by Go code (a manager answering
// dict.items()) must not be spelled out without bound. Such a tuple is unhashable and
// holds the list by reference (and encodes small); a hashable one — the lists inside an
// object — has a memo-free canonical body, where 2^26 leaves would take gigabytes (and
// 2^40 the process): refused.
func TestMakeTupleOfSharedValuesBounded(t *testing.T) {
	p := append([]byte{opProto, 4}, sharedLists(26)...)
	v := mustDecode(t, append(p, opStop))
	tu, err := MakeTuple("k", v)
	if err != nil {
		t.Fatalf("MakeTuple of a list of 2^26 shared leaves: %v", err)
	}
	if out := mustEncode(t, tu); len(out) > 4*len(p)+1024 {
		t.Errorf("%d-byte value in a tuple encoded to %d bytes", len(p), len(out))
	}
	o := []byte{opProto, 4, opGlobal}
	o = append(o, "__main__\nFrozen\n"...)
	o = append(o, opEmptyTuple, opNewobj)
	o = append(o, sharedLists(26)...)
	obj := mustDecode(t, append(o, opBuild, opStop))
	if _, err := MakeTuple("k", obj); !errors.Is(err, ErrLimit) {
		t.Errorf("MakeTuple of an object of 2^26 shared leaves: %v, want ErrLimit", err)
	}
}

// TestEncodeSetOfSharedOpaque: a set holding an object whose state shares lists (a few
// hundred bytes of pickle) encodes in proportion: the members' sort keys must not spell
// the object out.
func TestEncodeSetOfSharedOpaque(t *testing.T) {
	p := []byte{opProto, 4, opEmptySet, opMark, opGlobal}
	p = append(p, "__main__\nFrozen\n"...)
	p = append(p, opEmptyTuple, opNewobj)
	p = append(p, sharedLists(26)...)
	p = append(p, opBuild, opAdditems, opStop)
	v := mustDecode(t, p)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	out, err := Encode(v)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	// Spelling the member out for its sort key took minutes and gigabytes.
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<20 {
		t.Errorf("encoding a %d-byte set allocated %d bytes", len(p), n)
	}
	if len(out) > 4*len(p)+1024 {
		t.Fatalf("%d-byte pickle re-encoded to %d bytes", len(p), len(out))
	}
	if back := mustDecode(t, out).(Set); len(back) != 1 {
		t.Errorf("set of %d members back", len(back))
	}
}

// TestRepeatedLongKeyBounded: a dict whose one long key is set again and again through
// the memo (4 bytes of pickle per SETITEM) makes the decoder hash the whole key each
// time: 64 KiB × 50000 = 3 GB of hashing for a 200 KB pickle, and hours for a
// 64 MiB one. The hashing is bounded like the other expansions.
func TestRepeatedLongKeyBounded(t *testing.T) {
	key := strings.Repeat("k", 64<<10)
	for name, set := range map[string][]byte{
		"dict": {opBinget, 0, opNone, opSetitem},
		"set":  {opMark, opBinget, 0, opAdditems},
	} {
		t.Run(name, func(t *testing.T) {
			p := append([]byte{opProto, 4}, binunicode(key)...)
			p = append(p, opMemoize, opPop)
			if name == "dict" {
				p = append(p, opEmptyDict)
			} else {
				p = append(p, opEmptySet)
			}
			p = append(p, bytes.Repeat(set, 50000)...)
			p = append(p, opStop)
			if _, err := Decode(p); !errors.Is(err, ErrLimit) {
				t.Errorf("decode: %v, want ErrLimit", err)
			}
		})
	}
	// A record-like pickle — many dicts with the same memoized keys — is fine.
	p := []byte{opProto, 4, opEmptyList, opMemoize, opMark}
	p = append(p, binunicode(strings.Repeat("a", 100))...)
	p = append(p, opMemoize, opPop)
	for range 20000 {
		p = append(p, opEmptyDict, opBinget, 1, opNone, opSetitem)
	}
	p = append(p, opAppends, opStop)
	if _, err := Decode(p); err != nil {
		t.Errorf("records: %v", err)
	}
}

// TestSharedPartsCopiedExactly: memo-free bodies copy a shared part's bytes; the tuple
// must be the one spelling everything out gives (equal, ==), at any depth.
func TestSharedPartsCopiedExactly(t *testing.T) {
	var shared, spelled func(d int) any
	shared = func(d int) any {
		if d == 0 {
			return []any{"leaf", int64(d)}
		}
		x := shared(d - 1)
		return []any{x, dictOf("k", x), x}
	}
	spelled = func(d int) any {
		if d == 0 {
			return []any{"leaf", int64(d)}
		}
		return []any{spelled(d - 1), dictOf("k", spelled(d-1)), spelled(d - 1)}
	}
	canonical := func(v any) string {
		e := &encoder{maxDepth: DefaultLimits.MaxDepth}
		if err := e.value(v, 1); err != nil {
			t.Fatal(err)
		}
		return string(e.buf)
	}
	for d := range 6 {
		a, b := canonical(shared(d)), canonical(spelled(d))
		if a != b {
			t.Fatalf("depth %d: shared %q, spelled out %q", d, a, b)
		}
	}
}
