package mgr

import (
	"bytes"
	"errors"
	"math/big"
	"runtime"
	"testing"

	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
)

// TestPythonValuesTravelInInterfaces: the values a CPython client stores that have no Go
// form of their own (a tuple, a dict, a set, an int beyond int64, bytes) travel inside
// an interface as their pickle and come back as the same Python values, in a process
// that registered none of them.
func TestPythonValuesTravelInInterfaces(t *testing.T) {
	d := pickle.NewDict()
	d.Set("a", int64(1))
	d.Set(pickle.MustTuple(int64(1), "x"), pickle.Bytes("b"))
	fs, err := pickle.MakeFrozenSet(int64(3), "y")
	if err != nil {
		t.Fatal(err)
	}
	big1 := new(big.Int).Lsh(big.NewInt(1), 100)
	in := []any{pickle.MustTuple(int64(1), "two", 3.0), d, fs, pickle.NewBigInt(big1), pickle.Bytes("raw"),
		pickle.Set{int64(1): {}}, "plain"}
	e := NewEncoder(nil)
	e.Value(&in)
	if err := e.Err(); err != nil {
		t.Fatalf("encode: %v", err)
	}
	var out []any
	dec := NewDecoder(e.Bytes())
	dec.Value(&out)
	if err := dec.Done(); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if len(out) != len(in) {
		t.Fatalf("decoded %d values, want %d", len(out), len(in))
	}
	for i := range in {
		want, err := pickle.Encode(in[i])
		if err != nil {
			t.Fatal(err)
		}
		got, err := pickle.Encode(out[i])
		if err != nil {
			t.Fatalf("value %d came back as %T, which does not pickle: %v", i, out[i], err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("value %d: sent %v (%T), got %v (%T)", i, in[i], in[i], out[i], out[i])
		}
	}
}

// TestOpaqueValueRoundTrip: a named value whose type this process never registered
// decodes to an OpaqueValue instead of failing the message, and encoding it again writes
// the very bytes it came in.
func TestOpaqueValueRoundTrip(t *testing.T) {
	// What a process that registered example.com/far.Job{ID int; Name string} sends.
	inner := NewEncoder(nil)
	inner.Uint64(2)
	inner.Int64(7)
	inner.String("seven")
	sent := OpaqueValue{Type: "example.com/far.Job", Data: inner.Bytes()}
	e := NewEncoder(nil)
	msg := []any{"before", sent, int64(9)}
	e.Value(&msg)
	if err := e.Err(); err != nil {
		t.Fatalf("encode: %v", err)
	}
	wire := append([]byte(nil), e.Bytes()...)
	var got []any
	dec := NewDecoder(wire)
	dec.Value(&got)
	if err := dec.Done(); err != nil {
		t.Fatalf("decode: %v", err)
	}
	o, ok := got[1].(OpaqueValue)
	if !ok || o.Type != sent.Type || !bytes.Equal(o.Data, sent.Data) || got[0] != "before" || got[2] != int64(9) {
		t.Fatalf("decoded %#v, want the opaque value between its neighbours", got)
	}
	e2 := NewEncoder(nil)
	e2.Value(&got)
	if !bytes.Equal(e2.Bytes(), wire) {
		t.Errorf("re-encoded\n%x\nwant\n%x", e2.Bytes(), wire)
	}
}

type opaqueKnown struct {
	ID   int
	Name string
}

func init() { RegisterValue[opaqueKnown]() }

// TestNamedValueLengthChecked: a registered value is still decoded as itself, and one
// whose length disagrees with its encoding, or runs past the message, is refused as
// malformed.
func TestNamedValueLengthChecked(t *testing.T) {
	e := NewEncoder(nil)
	v := []any{opaqueKnown{3, "x"}}
	e.Value(&v)
	var got []any
	dec := NewDecoder(e.Bytes())
	dec.Value(&got)
	if err := dec.Done(); err != nil || got[0] != (opaqueKnown{3, "x"}) {
		t.Fatalf("decode = %#v, %v", got, err)
	}
	// The length sits just before the value: [len 1][tag][name][length][value].
	b := append([]byte(nil), e.Bytes()...)
	inner := NewEncoder(nil)
	inner.Value(&opaqueKnown{3, "x"})
	n := len(inner.Bytes())
	lenAt := len(b) - n - 1
	if b[lenAt] != byte(n) {
		t.Fatalf("layout: byte %d is %d, want the length %d", lenAt, b[lenAt], n)
	}
	for _, bad := range []byte{byte(n - 1), byte(n + 1), 127} {
		b[lenAt] = bad
		var got []any
		dec := NewDecoder(b)
		dec.Value(&got)
		if err := dec.Done(); !errors.Is(err, ErrDecode) {
			t.Errorf("length %d for a %d-byte value: %v, want ErrDecode", bad, n, err)
		}
	}
}

// TestSharedPythonValueWithinBudget: a tuple holding one dict a thousand times (shared
// through the pickle memo, spelled out in the tuple's body) travels inside an interface;
// the bound on a Python value's expansion does not refuse such ordinary values.
func TestSharedPythonValueWithinBudget(t *testing.T) {
	cfg := pickle.NewDict()
	for i := range 20 {
		cfg.Set("key"+string(rune('a'+i)), "a value of some length")
	}
	elems := make([]any, 1000)
	for i := range elems {
		elems[i] = cfg
	}
	out, n, err := encodeDecodeAny(t, []any{pickle.MustTuple(elems...)})
	if err != nil {
		t.Fatalf("decoding %d bytes: %v", n, err)
	}
	if tup, ok := out[0].(pickle.Tuple); !ok || tup.Len() != 1000 {
		t.Fatalf("got %#v", out[0])
	}
}

// TestNilPythonPointerTravelsAsNil: a nil *pickle.Dict or *pickle.Exception inside an
// interface is None to Python and arrives as nil, instead of reaching the pickler.
func TestNilPythonPointerTravelsAsNil(t *testing.T) {
	out, _, err := encodeDecodeAny(t, []any{(*pickle.Dict)(nil), (*pickle.Exception)(nil)})
	if err != nil || len(out) != 2 || out[0] != nil || out[1] != nil {
		t.Fatalf("got %#v, %v; want two nils", out, err)
	}
}

// sharedListsPickle is a pickle of a list holding one list twice, which holds one list
// twice, depth levels down: a few bytes per level, 2^depth lists when spelled out.
func sharedListsPickle(depth int) []byte {
	p := []byte{0x80, 4, ']', 0x94} // EMPTY_LIST, MEMOIZE
	for l := 1; l <= depth; l++ {
		// POP, EMPTY_LIST, MEMOIZE, MARK, BINGET l-1 twice, APPENDS
		p = append(p, '0', ']', 0x94, '(', 'h', byte(l-1), 'h', byte(l-1), 'e')
	}
	return append(p, '.')
}

// TestPythonValueMustBeAPythonValue: a named Python value is a value of the pickle
// package's types (or a scalar), written back as its pickle. A peer that sends a list's
// pickle under such a name got a plain []any whose shared parts the codec then spells
// out: 294 bytes of message, 2^26 lists to write back (a manager holding it in a
// Queue[any] never finished the reply of a Get).
func TestPythonValueMustBeAPythonValue(t *testing.T) {
	out, _, err := encodeDecodeAny(t, []any{OpaqueValue{Type: picklePrefix + "Tuple", Data: sharedListsPickle(26)}})
	if !errors.Is(err, ErrDecode) {
		t.Fatalf("a list's pickle as a Python value: decoded %T, %v; want ErrDecode", out[0], err)
	}
	// A small int travels under BigInt's name (its pickle reads back as int64); scalars
	// are still taken.
	if _, _, err := encodeDecodeAny(t, []any{pickle.NewBigInt(big.NewInt(5))}); err != nil {
		t.Fatalf("a small BigInt: %v", err)
	}
}

// laughsPickle is a small pickle of a hashable tuple that shares one string through
// the memo k times at each of levels levels: its canonical body (what the decoder
// builds) is about 18·k^levels bytes.
func laughsPickle(k, levels int) []byte {
	p := []byte{0x80, 4, 0x8c, 16}
	p = append(p, "aaaaaaaaaaaaaaaa"...)
	p = append(p, 0x94, '0') // MEMOIZE, POP
	for l := range levels {
		if l > 0 {
			p = append(p, '0')
		}
		p = append(p, '(')
		for range k {
			p = append(p, 'h', byte(l)) // BINGET l
		}
		p = append(p, 't', 0x94) // TUPLE, MEMOIZE
	}
	return append(p, '.')
}

// TestPythonValuesShareOneExpansionBudget: the expansion a Python value's pickle may
// build is bounded per message, not per value. With an allowance per value (64× its
// bytes + 1 MiB), 64 copies of one 150-byte pickle that builds 0.7 MB each made a
// 13 KB message allocate 255 MB.
func TestPythonValuesShareOneExpansionBudget(t *testing.T) {
	pk := laughsPickle(14, 4)
	if v, err := pythonValueOptions(len(pk)).Decode(pk); err != nil {
		t.Fatalf("one value alone: %v", err) // within one value's allowance
	} else if _, ok := v.(pickle.Tuple); !ok {
		t.Fatalf("decoded %T", v)
	}
	in := make([]any, 64)
	for i := range in {
		in[i] = OpaqueValue{Type: picklePrefix + "Tuple", Data: pk} // written as it came
	}
	e := NewEncoder(nil)
	e.Value(&in)
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var out []any
	dec := NewDecoder(e.Bytes())
	dec.Value(&out)
	err := dec.Done()
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d-byte message: %d bytes allocated, %v", len(e.Bytes()), alloc, err)
	if !errors.Is(err, ErrDecode) {
		t.Errorf("decoding 64 values that each expand 0.7 MB from a %d-byte message: %v, want ErrDecode", len(e.Bytes()), err)
	}
	if alloc > 32<<20 {
		t.Errorf("decoding a %d-byte message allocated %d MB", len(e.Bytes()), alloc>>20)
	}
}

// encodeDecodeAny encodes in and decodes it back, returning what came out, the message's
// size and the decoding's error.
func encodeDecodeAny(t *testing.T, in []any) ([]any, int, error) {
	t.Helper()
	e := NewEncoder(nil)
	e.Value(&in)
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	var out []any
	dec := NewDecoder(e.Bytes())
	dec.Value(&out)
	return out, len(e.Bytes()), dec.Done()
}
