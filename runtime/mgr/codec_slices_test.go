package mgr

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Named slice types take the reflective path; their unnamed twins the fast one
// (codec_slices.go). Both must write the same bytes, and each must read the other's.
type (
	slowInts    []int
	slowInt64s  []int64
	slowFloats  []float64
	slowStrings []string
)

func TestFastSlicesMatchTheReflectivePath(t *testing.T) {
	cases := []struct{ fast, slow, fastOut, slowOut any }{
		{[]int{0, -1, math.MaxInt, math.MinInt, 300}, slowInts{0, -1, math.MaxInt, math.MinInt, 300}, new([]int), new(slowInts)},
		{[]int64{7, -7}, slowInt64s{7, -7}, new([]int64), new(slowInt64s)},
		{[]float64{1.5, math.Inf(-1), 0}, slowFloats{1.5, math.Inf(-1), 0}, new([]float64), new(slowFloats)},
		{[]string{"", "a", "héllo"}, slowStrings{"", "a", "héllo"}, new([]string), new(slowStrings)},
		{[]int{}, slowInts{}, new([]int), new(slowInts)},
		{[]int(nil), slowInts(nil), new([]int), new(slowInts)},
		{[]string(nil), slowStrings(nil), new([]string), new(slowStrings)},
	}
	for _, c := range cases {
		fe, se := NewEncoder(nil), NewEncoder(nil)
		fe.Value(c.fast)
		se.Value(c.slow)
		if fe.Err() != nil || se.Err() != nil {
			t.Fatalf("%T: %v, %v", c.fast, fe.Err(), se.Err())
		}
		if !bytes.Equal(fe.Bytes(), se.Bytes()) {
			t.Fatalf("%T %v: fast path wrote %x, reflective path %x", c.fast, c.fast, fe.Bytes(), se.Bytes())
		}
		fd := NewDecoder(se.Bytes()) // the fast type reads the reflective path's bytes
		fd.Value(c.fastOut)
		sd := NewDecoder(fe.Bytes()) // and the other way
		sd.Value(c.slowOut)
		if err := fd.Done(); err != nil {
			t.Fatalf("%T: %v", c.fastOut, err)
		}
		if err := sd.Done(); err != nil {
			t.Fatalf("%T: %v", c.slowOut, err)
		}
		fast := reflectElem(c.fastOut)
		if !cmp.Equal(fast, c.fast) {
			t.Fatalf("decoded %#v, want %#v", fast, c.fast)
		}
		if (fast == nil) != (c.fast == nil) || isNilSlice(fast) != isNilSlice(c.fast) {
			t.Fatalf("%T: nil-ness lost: %#v from %#v", c.fast, fast, c.fast)
		}
	}
}

// A length that claims more elements than the message holds is refused before the
// slice is allocated, on the fast path as on the reflective one.
func TestFastSliceLengthIsBounded(t *testing.T) {
	e := NewEncoder(nil)
	e.Len(1 << 40)
	for _, out := range []any{new([]int), new([]float64), new([]string)} {
		d := NewDecoder(e.Bytes())
		d.Value(out)
		if d.Done() == nil {
			t.Fatalf("%T: a length of 2^40 with no elements decoded", out)
		}
	}
}

// A varint cut short or longer than ten bytes fails the integer slices' inline loops as
// it fails Decoder.Int64, and leaves no half-decoded slice behind.
func TestFastIntSliceRejectsBadVarints(t *testing.T) {
	for _, c := range []struct {
		name string
		tail []byte
	}{
		{"cut short", []byte{0x80}},
		{"eleven bytes", bytes.Repeat([]byte{0xff}, 11)},
	} {
		e := NewEncoder(nil)
		e.Len(2)
		e.Int64(-300)
		b := append(e.Bytes(), c.tail...)
		for _, out := range []any{new([]int), new([]int64), new(slowInts)} {
			d := NewDecoder(b)
			d.Value(out)
			if err := d.Done(); err == nil || !strings.Contains(err.Error(), "invalid varint") {
				t.Fatalf("%s into %T: err = %v, want invalid varint", c.name, out, err)
			}
			if s := reflectElem(out); s != nil && !isNilSlice(s) {
				t.Fatalf("%s into %T: left %v", c.name, out, s)
			}
		}
	}
}

func reflectElem(p any) any {
	switch p := p.(type) {
	case *[]int:
		return *p
	case *[]int64:
		return *p
	case *[]float64:
		return *p
	case *[]string:
		return *p
	}
	return nil
}

func isNilSlice(v any) bool {
	switch s := v.(type) {
	case []int:
		return s == nil
	case []int64:
		return s == nil
	case []float64:
		return s == nil
	case []string:
		return s == nil
	}
	return false
}

// BenchmarkIntSlice12500 is one pool.Map chunk of ints (Python's default chunk size for
// 100,000 items over 2 workers) through the codec's fast slice path.
func BenchmarkIntSlice12500(b *testing.B) {
	xs := make([]int, 12500)
	for i := range xs {
		xs[i] = i * i
	}
	e := NewEncoder(nil)
	e.Value(xs)
	enc := e.Bytes()
	b.Run("encode", func(b *testing.B) {
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			e := NewEncoder(nil)
			e.Value(xs)
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			var out []int
			d := NewDecoder(enc)
			d.Value(&out)
			if d.Done() != nil {
				b.Fatal(d.Done())
			}
		}
	})
}

// DecodeSliceInto decodes into the storage it is given when that is large enough, on the
// fast path and the reflective one alike, and allocates otherwise.
func TestDecodeSliceInto(t *testing.T) {
	enc := func(v any) []byte {
		e := NewEncoder(nil)
		e.Value(v)
		if e.Err() != nil {
			t.Fatal(e.Err())
		}
		return e.Bytes()
	}
	ints := enc([]int{3, -4, 500})
	dst := make([]int, 5)
	got := DecodeSliceInto(NewDecoder(ints), dst[1:4])
	if !cmp.Equal(got, []int{3, -4, 500}) || &got[0] != &dst[1] {
		t.Fatalf("into room for 3: got %v (in place: %v)", got, &got[0] == &dst[1])
	}
	got = DecodeSliceInto(NewDecoder(ints), dst[:2:2])
	if !cmp.Equal(got, []int{3, -4, 500}) || &got[0] == &dst[0] {
		t.Fatalf("into room for 2: got %v, want a new slice of 3", got)
	}
	if got := DecodeSliceInto(NewDecoder(enc([]int(nil))), dst); got != nil {
		t.Fatalf("nil decoded as %#v", got)
	}
	if got := DecodeSliceInto[int](NewDecoder(enc([]int{})), nil); got == nil || len(got) != 0 {
		t.Fatalf("empty decoded as %#v", got)
	}
	i64 := make([]int64, 3)
	if got := DecodeSliceInto(NewDecoder(enc([]int64{1, 2, 3})), i64); !cmp.Equal(got, []int64{1, 2, 3}) || &got[0] != &i64[0] {
		t.Fatalf("[]int64: got %v", got)
	}
	strs := make([]string, 2)
	if got := DecodeSliceInto(NewDecoder(enc([]string{"a", "b"})), strs); !cmp.Equal(got, []string{"a", "b"}) || &got[0] != &strs[0] {
		t.Fatalf("[]string: got %v", got)
	}
	d := NewDecoder(ints[:len(ints)-1]) // the last varint cut off
	if got := DecodeSliceInto(d, dst); got != nil || d.Done() == nil {
		t.Fatalf("cut short: got %v, err %v", got, d.Done())
	}
}
