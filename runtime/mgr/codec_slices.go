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
		encodeSlice(e, s, func(e *Encoder, x int) { e.Int64(int64(x)) })
	case []int64:
		encodeSlice(e, s, (*Encoder).Int64)
	case []float64:
		encodeSlice(e, s, (*Encoder).Float64)
	case []string:
		encodeSlice(e, s, (*Encoder).String)
	default:
		return false
	}
	return true
}

// encodeSlice writes s's length (-1 for nil), then each element with put.
func encodeSlice[T any](e *Encoder, s []T, put func(*Encoder, T)) {
	if s == nil {
		e.Len(-1)
		return
	}
	e.Len(len(s))
	for _, x := range s {
		put(e, x)
	}
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
		decodeSlice(d, p, 1, func(d *Decoder) int { return int(d.IntN(strconv.IntSize)) })
	case *[]int64:
		decodeSlice(d, p, 1, (*Decoder).Int64)
	case *[]float64:
		decodeSlice(d, p, minSize(float64Type), (*Decoder).Float64)
	case *[]string:
		decodeSlice(d, p, 1, (*Decoder).String)
	default:
		return false
	}
	return true
}

// decodeSlice reads what encodeSlice wrote into *p (nil for -1, and on an error),
// elements of at least minElem bytes each, each with get.
func decodeSlice[T any](d *Decoder, p *[]T, minElem int, get func(*Decoder) T) {
	n := d.Len(minElem)
	if n < 0 {
		*p = nil
		return
	}
	s := make([]T, n)
	for i := range s {
		s[i] = get(d)
	}
	if d.err != nil {
		s = nil
	}
	*p = s
}

var float64Type = reflect.TypeFor[float64]()
