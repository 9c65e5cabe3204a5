package mgr

import (
	"reflect"
	"strconv"
)

// Slices of the common scalar types are encoded and decoded without reflecting on each
// element: a pool.Map of 100,000 ints spent most of its codec time in reflect.Value.Index
// and SetInt. The wire format is exactly encodeValue's (a length, then each element as
// its kind writes it), so either side may take either path.

// encodeFastSlice writes v if it is one of the fast slice types, and reports whether
// it was.
func encodeFastSlice(e *Encoder, v reflect.Value) bool {
	if !v.CanInterface() {
		return false
	}
	switch s := v.Interface().(type) {
	case []int:
		if !e.sliceLen(s == nil, len(s)) {
			for _, x := range s {
				e.Int64(int64(x))
			}
		}
	case []int64:
		if !e.sliceLen(s == nil, len(s)) {
			for _, x := range s {
				e.Int64(x)
			}
		}
	case []float64:
		if !e.sliceLen(s == nil, len(s)) {
			for _, x := range s {
				e.Float64(x)
			}
		}
	case []string:
		if !e.sliceLen(s == nil, len(s)) {
			for _, x := range s {
				e.String(x)
			}
		}
	default:
		return false
	}
	return true
}

// sliceLen writes a slice's length (-1 for nil) and reports whether it was nil.
func (e *Encoder) sliceLen(isNil bool, n int) bool {
	if isNil {
		e.Len(-1)
		return true
	}
	e.Len(n)
	return false
}

// decodeFastSlice reads into v if it is one of the fast slice types, and reports whether
// it was. Lengths are checked as decodeKind checks them (Len with the element's least
// size).
func decodeFastSlice(d *Decoder, v reflect.Value) bool {
	if !v.CanAddr() || !v.Addr().CanInterface() {
		return false
	}
	switch p := v.Addr().Interface().(type) {
	case *[]int:
		n := d.Len(1)
		if n < 0 {
			*p = nil
			return true
		}
		s := make([]int, n)
		for i := range s {
			s[i] = int(d.IntN(strconv.IntSize))
		}
		*p = s
	case *[]int64:
		n := d.Len(1)
		if n < 0 {
			*p = nil
			return true
		}
		s := make([]int64, n)
		for i := range s {
			s[i] = d.Int64()
		}
		*p = s
	case *[]float64:
		n := d.Len(minSize(float64Type))
		if n < 0 {
			*p = nil
			return true
		}
		s := make([]float64, n)
		for i := range s {
			s[i] = d.Float64()
		}
		*p = s
	case *[]string:
		n := d.Len(1)
		if n < 0 {
			*p = nil
			return true
		}
		s := make([]string, n)
		for i := range s {
			s[i] = d.String()
		}
		*p = s
	default:
		return false
	}
	if d.err != nil {
		v.SetZero()
	}
	return true
}

var float64Type = reflect.TypeFor[float64]()
