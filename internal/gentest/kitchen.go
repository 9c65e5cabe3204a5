package gentest

import (
	"time"
)

// Celsius is a named float: it crosses the wire as a float64.
type Celsius float64

// ID is a named string.
type ID string

// Blob is a named byte slice.
type Blob []byte

// Kitchen has a method for every kind of value the generated code carries itself, so a
// round trip checks each Encoder/Decoder pairing. It has no constructor (new(Kitchen)),
// value receivers, and an explicit TypeID.
//
//mgr:expose typeid=gentest.Kitchen
type Kitchen struct{}

// Scalars returns its arguments.
func (Kitchen) Scalars(b bool, i int, i8 int8, i16 int16, i32 int32, i64 int64,
	u uint, u8 uint8, u16 uint16, u32 uint32, u64 uint64, up uintptr,
	f32 float32, f64 float64, c64 complex64, c128 complex128,
) (bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, uintptr, float32, float64, complex64, complex128) {
	return b, i, i8, i16, i32, i64, u, u8, u16, u32, u64, up, f32, f64, c64, c128
}

// Named returns its arguments.
func (Kitchen) Named(s string, bs []byte, t time.Time, d time.Duration, e error, c Celsius, id ID, blob Blob) (string, []byte, time.Time, time.Duration, error, Celsius, ID, Blob) {
	return s, bs, t, d, e, c, id, blob
}

// Composite returns its arguments.
func (Kitchen) Composite(xs []int, m map[string][]float64, arr [3]string, p *int, v any) ([]int, map[string][]float64, [3]string, *int, any) {
	return xs, m, arr, p, v
}

// Sum adds its variadic arguments.
func (Kitchen) Sum(base int, xs ...int) int {
	for _, x := range xs {
		base += x
	}
	return base
}
