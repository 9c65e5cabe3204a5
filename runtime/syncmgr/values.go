package syncmgr

import (
	"cmp"
	"fmt"
	"math"
	"reflect"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Helpers that give the generic containers equality, arithmetic and order on values
// whose type is only known at run time (a type parameter, or the dynamic type inside
// an any).

// equal reports whether a and b are the same value: == for comparable values, proxies by
// the object they refer to, and reflect.DeepEqual for the rest (slices, maps, structs
// holding them).
func equal[T any](a, b T) bool {
	return equalAny(any(a), any(b))
}

func equalAny(a, b any) (eq bool) {
	if pa, ok := a.(mgr.Proxy); ok {
		pb, ok := b.(mgr.Proxy)
		return ok && proxyID(pa) == proxyID(pb)
	}
	ta := reflect.TypeOf(a)
	if ta != reflect.TypeOf(b) {
		return false
	}
	if ta == nil {
		return true
	}
	if ta.Comparable() {
		defer func() {
			// A struct or array holding an uncomparable value in an interface field.
			if recover() != nil {
				eq = reflect.DeepEqual(a, b)
			}
		}()
		return a == b
	}
	return reflect.DeepEqual(a, b)
}

// proxyID returns the object ID behind a proxy, 0 for a nil one.
func proxyID(p mgr.Proxy) uint64 {
	v := reflect.ValueOf(p)
	if v.Kind() == reflect.Pointer && v.IsNil() {
		return 0
	}
	type objectIDer interface{ ObjectID() uint64 }
	if o, ok := p.(objectIDer); ok {
		return o.ObjectID()
	}
	return 0
}

// addNumber returns cur+delta for numbers of any integer, float or complex kind (named
// numeric types included). For T = any, the dynamic types may differ: delta is converted
// to cur's type when the value fits, and a missing (nil) cur takes delta. Integer
// overflow is an error, not a wrap-around.
func addNumber[T any](cur, delta T) (T, error) {
	r, err := addAny(any(cur), any(delta))
	if err != nil {
		var zero T
		return zero, err
	}
	return r.(T), nil
}

func addAny(a, b any) (any, error) {
	if a == nil {
		if b == nil || !isNumber(reflect.ValueOf(b)) {
			return nil, fmt.Errorf("%w: cannot add %T", ErrNotNumber, b)
		}
		return b, nil
	}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if !isNumber(va) || b == nil || !isNumber(vb) {
		return nil, fmt.Errorf("%w: cannot add %T to %T", ErrNotNumber, b, a)
	}
	out := reflect.New(va.Type()).Elem()
	switch {
	case va.CanInt():
		var d int64
		switch {
		case vb.CanInt():
			d = vb.Int()
		case vb.CanUint() && vb.Uint() <= math.MaxInt64:
			d = int64(vb.Uint())
		default:
			return nil, fmt.Errorf("%w: cannot add %T %v to integer %T", ErrNotNumber, b, b, a)
		}
		s := va.Int() + d
		if (d > 0 && s < va.Int()) || (d < 0 && s > va.Int()) || out.OverflowInt(s) {
			return nil, fmt.Errorf("%w: %v + %v overflows %T", ErrNotNumber, a, b, a)
		}
		out.SetInt(s)
	case va.CanUint():
		x := va.Uint()
		switch {
		case vb.CanUint():
			s := x + vb.Uint()
			if s < x || out.OverflowUint(s) {
				return nil, fmt.Errorf("%w: %v + %v overflows %T", ErrNotNumber, a, b, a)
			}
			out.SetUint(s)
		case vb.CanInt():
			d := vb.Int()
			if (d < 0 && uint64(-d) > x) || (d > 0 && x+uint64(d) < x) || out.OverflowUint(x+uint64(d)) {
				return nil, fmt.Errorf("%w: %v + %v overflows %T", ErrNotNumber, a, b, a)
			}
			out.SetUint(x + uint64(d))
		default:
			return nil, fmt.Errorf("%w: cannot add %T %v to unsigned %T", ErrNotNumber, b, b, a)
		}
	case va.CanFloat():
		var d float64
		switch {
		case vb.CanFloat():
			d = vb.Float()
		case vb.CanInt():
			d = float64(vb.Int())
		case vb.CanUint():
			d = float64(vb.Uint())
		default:
			return nil, fmt.Errorf("%w: cannot add %T to %T", ErrNotNumber, b, a)
		}
		out.SetFloat(va.Float() + d)
	case va.CanComplex():
		var d complex128
		switch {
		case vb.CanComplex():
			d = vb.Complex()
		case vb.CanFloat():
			d = complex(vb.Float(), 0)
		case vb.CanInt():
			d = complex(float64(vb.Int()), 0)
		case vb.CanUint():
			d = complex(float64(vb.Uint()), 0)
		}
		out.SetComplex(va.Complex() + d)
	}
	return out.Interface(), nil
}

func isNumber(v reflect.Value) bool {
	return v.IsValid() && (v.CanInt() || v.CanUint() || v.CanFloat() || v.CanComplex())
}

// compareAny orders two values of an integer, float or string kind; both must be of the
// same kind class (integers with integers, ...). Anything else is ErrNotOrdered.
func compareAny(a, b any) (int, error) {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if !va.IsValid() || !vb.IsValid() {
		return 0, fmt.Errorf("%w: nil value", ErrNotOrdered)
	}
	switch {
	case va.CanInt() && vb.CanInt():
		return cmp.Compare(va.Int(), vb.Int()), nil
	case va.CanUint() && vb.CanUint():
		return cmp.Compare(va.Uint(), vb.Uint()), nil
	case va.CanFloat() && vb.CanFloat():
		return cmp.Compare(va.Float(), vb.Float()), nil
	case va.Kind() == reflect.String && vb.Kind() == reflect.String:
		return cmp.Compare(va.String(), vb.String()), nil
	}
	return 0, fmt.Errorf("%w: cannot order %T and %T", ErrNotOrdered, a, b)
}

// pyIndex resolves a Python-style index (negative counts from the end) against length n.
func pyIndex(i, n int) (int, error) {
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		return 0, fmt.Errorf("%w: index %d, length %d", ErrIndex, i, n)
	}
	return i, nil
}

// pySlice clamps Python-style slice bounds (negative count from the end) to length n.
func pySlice(start, stop, n int) (int, int) {
	clamp := func(i int) int {
		if i < 0 {
			i += n
		}
		return max(0, min(i, n))
	}
	s, e := clamp(start), clamp(stop)
	if e < s {
		e = s
	}
	return s, e
}
