package pickle

import (
	"math"
	"math/big"
)

// PyKey returns the comparable Go value that stands for v's equivalence class under
// Python's dict and set equality. Decoded values are comparable but Go's == is stricter
// than Python's: 1, 1.0, True and 1+0j are one key in Python and four in Go. PyKey maps
// bools and integral floats to int64 (BigInt beyond), complex numbers with no imaginary
// part to their real part (normalized the same way), and normalizes the elements of
// tuples and frozensets; other values are returned unchanged. A Go map keyed by PyKey
// finds what Python would; keep the original key too, since Python's keys() returns the
// one first inserted.
func PyKey(v any) any {
	switch x := v.(type) {
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	case float64:
		return floatKey(x)
	case complex128:
		if imag(x) == 0 {
			return floatKey(real(x))
		}
	case BigInt:
		if b := x.Big(); b.IsInt64() {
			return b.Int64()
		}
	case Tuple:
		if x.ref != nil {
			return v // unhashable: no key at all
		}
		e, err := x.Elems()
		if err != nil {
			return v
		}
		changed := false
		for i, el := range e {
			k := PyKey(el)
			if k != el {
				e[i], changed = k, true
			}
		}
		if !changed {
			return v
		}
		if t, err := MakeTuple(e...); err == nil {
			return t
		}
	case FrozenSet:
		m, err := x.Members()
		if err != nil {
			return v
		}
		for i, el := range m {
			m[i] = PyKey(el)
		}
		if f, err := MakeFrozenSet(m...); err == nil {
			return f
		}
	}
	return v
}

// floatKey is an integral float as the int it equals, else the float.
func floatKey(f float64) any {
	if f != math.Trunc(f) || math.IsInf(f, 0) {
		return f
	}
	if f >= -(1<<63) && f < 1<<63 {
		return int64(f)
	}
	i, _ := big.NewFloat(f).Int(nil)
	return NewBigInt(i)
}
