package mgr

import (
	"bytes"
	"math"
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
