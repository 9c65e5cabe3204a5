package mgr

import (
	"encoding/binary"
	"math/bits"
	"reflect"
	"slices"
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
		encodeVarints(e, s)
	case []int64:
		encodeVarints(e, s)
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
		decodeVarints(d, p, strconv.IntSize)
	case *[]int64:
		decodeVarints(d, p, 64)
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

// Integer slices are the common case of a pool.Map's items and results, and the
// per-element calls of encodeSlice and decodeSlice cost ~10 ns an element: these loops
// write and read the same zig-zag varints as Encoder.Int64 and Decoder.Int64 inline, and
// the encoder makes room for the whole slice first, so a large one is not copied as its
// buffer grows.

// encodeVarints writes s as encodeSlice(e, s, Int64) does.
func encodeVarints[T int | int64](e *Encoder, s []T) {
	if s == nil {
		e.Len(-1)
		return
	}
	e.Len(len(s))
	n := 0
	for _, x := range s {
		n += varintLen(zigzag(int64(x)))
	}
	buf := slices.Grow(e.buf, n) // exact for a fresh buffer, amortised for a growing one
	out := buf[len(buf) : len(buf)+n]
	i := 0
	for _, x := range s {
		ux := zigzag(int64(x))
		for ux >= 0x80 {
			out[i] = byte(ux) | 0x80
			ux >>= 7
			i++
		}
		out[i] = byte(ux)
		i++
	}
	e.buf = buf[:len(buf)+n]
}

// zigzag maps a signed integer to the unsigned one binary.AppendVarint writes.
func zigzag(x int64) uint64 {
	ux := uint64(x) << 1
	if x < 0 {
		ux = ^ux
	}
	return ux
}

// varintLen is the number of bytes binary.AppendUvarint writes for ux.
func varintLen(ux uint64) int { return (bits.Len64(ux|1) + 6) / 7 }

// decodeVarints reads what encodeVarints wrote into *p (nil for -1, and on an error),
// each element checked to fit in bitSize bits as Decoder.IntN checks it.
func decodeVarints[T int | int64](d *Decoder, p *[]T, bitSize int) {
	*p = decodeVarintsInto[T](d, nil, bitSize)
}

// decodeVarintsInto is decodeVarints into dst's storage when it is large enough.
func decodeVarintsInto[T int | int64](d *Decoder, dst []T, bitSize int) []T {
	n := d.Len(1)
	if n < 0 {
		return nil
	}
	s := dst[:0]
	if s == nil || cap(s) < n { // nil stays apart from empty
		s = make([]T, n)
	}
	s = s[:n]
	buf := d.buf[d.off:]
	for i := range s {
		var ux uint64
		if len(buf) > 0 && buf[0] < 0x80 {
			ux, buf = uint64(buf[0]), buf[1:]
		} else {
			v, k := binary.Uvarint(buf)
			if k <= 0 {
				d.off = len(d.buf) - len(buf)
				d.Fail("invalid varint")
				return nil
			}
			ux, buf = v, buf[k:]
		}
		x := int64(ux >> 1)
		if ux&1 != 0 {
			x = ^x
		}
		if bitSize < 64 && (x < -(1<<(bitSize-1)) || x >= 1<<(bitSize-1)) {
			d.off = len(d.buf) - len(buf)
			d.Fail("integer %d overflows int%d", x, bitSize)
			return nil
		}
		s[i] = T(x)
	}
	d.off = len(d.buf) - len(buf)
	return s
}

// DecodeSliceInto reads a []T that Encoder.Value wrote, into dst's storage when dst has
// the capacity, and returns it (nil for a nil slice, and on an error, when what dst held
// is unspecified). Someone who puts one result together from the parts several messages
// carry (pool.Map's chunks), or decodes many slices in turn (a pool worker), saves the
// allocation and the copy of a slice per message: on the binary codec's fast slice types
// ([]int, []int64) the elements are decoded in place; other types are decoded as
// Decoder.Value decodes them, then copied.
func DecodeSliceInto[T any](d *Decoder, dst []T) []T {
	if _, binary := codecOf(d.env).(BinaryCodec); binary && d.err == nil {
		switch dst := any(dst).(type) {
		case []int:
			s, _ := any(decodeVarintsInto(d, dst, strconv.IntSize)).([]T)
			return s
		case []int64:
			s, _ := any(decodeVarintsInto(d, dst, 64)).([]T)
			return s
		}
	}
	var s []T
	d.Value(&s)
	if s == nil || d.err != nil {
		return nil
	}
	if cap(dst) < len(s) {
		return s
	}
	dst = dst[:len(s)]
	copy(dst, s)
	return dst
}

var float64Type = reflect.TypeFor[float64]()
