package mgr

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"unicode"

	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
)

// Python faces for generated types: CPython clients call a Go type's exposed methods by
// Python names (snake_case), with pickled arguments converted to the Go parameter types
// that Method.Sig names and results converted back. This is the runtime mapping; the
// dispatch itself is the generated one (Method.Call), so the Go and Python front-ends
// run the same code.

// NewPyType derives the Python face of the registered Go type goTypeID, to register
// (RegisterPython) or to share (Server.SharePython) as Python typeid typeID. Each method
// is reached by its snake_case name (GetValue as get_value) unless names maps its Go
// name to another; a Go name mapped to "" is left out. Methods whose parameters or
// results are not of the types a Python value converts to — Go's integer and float
// types, string, bool, []byte — are left out too, and listed in the error, which is not
// fatal: the face returned serves the rest. The type's constructor is offered to
// Python's create when it takes no arguments.
func NewPyType(typeID, goTypeID string, names map[string]string) (*PyType, error) {
	desc := LookupType(goTypeID)
	if desc == nil {
		return nil, fmt.Errorf("mgr: NewPyType %s: Go type %s is not registered", typeID, goTypeID)
	}
	t := &PyType{TypeID: typeID, GoTypeID: goTypeID, Methods: map[string]PyMethod{}}
	if desc.New != nil {
		t.New = func(ctx context.Context, args []any, kwds *pickle.Dict) (any, error) {
			if len(args) > 0 || kwds != nil {
				return nil, PyTypeError("%s() takes no arguments", typeID)
			}
			return desc.New(ctx, NewDecoder(nil))
		}
	}
	var skipped []string
	for i := range desc.Methods {
		m := &desc.Methods[i]
		if strings.HasPrefix(m.Name, "_") {
			continue // the runtime's own entries (_getvalue: Python has #GETVALUE)
		}
		pyName, renamed := names[m.Name]
		if !renamed {
			pyName = SnakeCase(m.Name)
		}
		if pyName == "" {
			continue
		}
		params, results, ok := pySig(m.Sig, goTypeID)
		if !ok {
			skipped = append(skipped, fmt.Sprintf("%s %s", m.Name, m.Sig))
			continue
		}
		t.Exposed = append(t.Exposed, pyName)
		t.Methods[pyName] = bridgeMethod(typeID+"."+pyName, m, params, results)
	}
	if len(skipped) > 0 {
		return t, fmt.Errorf("mgr: NewPyType %s: methods left out (their types have no Python form): %s", typeID, strings.Join(skipped, "; "))
	}
	return t, nil
}

// MustPyType is NewPyType for generated code (mgrgen's python= option), which has
// checked at generation time that every method converts; it panics on an error.
func MustPyType(typeID, goTypeID string, names map[string]string) *PyType {
	t, err := NewPyType(typeID, goTypeID, names)
	if err != nil {
		panic(err)
	}
	return t
}

// SnakeCase gives a Go method name its Python spelling: GetValue → get_value,
// HTTPStatus → http_status, ID → id.
func SnakeCase(name string) string {
	rs := []rune(name)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) ||
				(i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]))) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// pySig reads a method's signature with dyncall's parseSig (type parameters bound by
// typeID's type arguments) and reports whether every parameter and result has a Python
// form (pyConvertible).
func pySig(sig, typeID string) (params, results []reflect.Type, ok bool) {
	params, results, err := parseSig(sig, typeID)
	if err != nil {
		return nil, nil, false
	}
	for _, ts := range [][]reflect.Type{params, results} {
		for _, t := range ts {
			if !pyConvertible(t) {
				return nil, nil, false
			}
		}
	}
	return params, results, true
}

// pyConvertible reports whether t is one the bridge converts: Go's unnamed integer and
// float types, string, bool and []byte — the set gen/python.go's pyConvertible accepts.
// A named type (time.Duration) is not: its Call decodes it its own way.
func pyConvertible(t reflect.Type) bool {
	if t == bytesType {
		return true
	}
	if t.PkgPath() != "" {
		return false
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String, reflect.Bool:
		return true
	}
	return false
}

// bridgeMethod calls m with Python arguments converted to params.
func bridgeMethod(name string, m *Method, params, results []reflect.Type) PyMethod {
	return func(ctx context.Context, obj any, args []any, kwds *pickle.Dict) (any, error) {
		if kwds != nil {
			return nil, PyTypeError("%s() takes no keyword arguments", name)
		}
		if len(args) != len(params) {
			return nil, PyTypeError("%s() takes %d arguments (%d given)", name, len(params), len(args))
		}
		enc := NewEncoder(nil)
		for i, p := range params {
			if err := pyToGo(enc, p, args[i]); err != nil {
				return nil, PyTypeError("%s() argument %d: %v", name, i+1, err)
			}
		}
		var res Encoder
		if err := m.Call(ctx, obj, NewDecoder(enc.Bytes()), &res); err != nil {
			return nil, err
		}
		if res.err != nil {
			return nil, res.err
		}
		dec := NewDecoder(res.Bytes())
		out := make([]any, len(results))
		for i, r := range results {
			out[i] = goToPy(dec, r)
		}
		if err := dec.Err(); err != nil {
			return nil, err
		}
		switch len(out) {
		case 0:
			return nil, nil
		case 1:
			return out[0], nil
		}
		return pickle.MakeTuple(out...)
	}
}

// pyToGo encodes Python value v as Go type t (one pyConvertible accepts), as the
// generated Call decodes it.
func pyToGo(e *Encoder, t reflect.Type, v any) error {
	switch t.Kind() {
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("must be str, not %s", pyKind(v))
		}
		e.String(s)
	case reflect.Slice: // []byte
		switch b := v.(type) {
		case pickle.Bytes:
			e.ByteSlice([]byte(b))
		case pickle.ByteArray:
			e.ByteSlice(b)
		default:
			return fmt.Errorf("must be bytes, not %s", pyKind(v))
		}
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("must be bool, not %s", pyKind(v))
		}
		e.Bool(b)
	case reflect.Float32, reflect.Float64:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case int64:
			f = float64(x)
		default:
			return fmt.Errorf("must be float, not %s", pyKind(v))
		}
		if t.Kind() == reflect.Float32 {
			e.Float32(float32(f))
		} else {
			e.Float64(f)
		}
	default: // the integer types
		unsigned := t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64
		if b, isBig := v.(pickle.BigInt); isBig {
			// A Python int beyond int64: only a uint64 can hold one, and only up to 2⁶⁴-1.
			if x := b.Big(); unsigned && t.Size() == 8 && x.Sign() > 0 && x.IsUint64() {
				e.Uint64(x.Uint64())
				return nil
			}
			return fmt.Errorf("%s is out of range for %s", b, t)
		}
		n, ok := v.(int64)
		if !ok {
			if b, isBool := v.(bool); isBool {
				n, ok = 0, true
				if b {
					n = 1
				}
			}
		}
		if !ok {
			return fmt.Errorf("must be int, not %s", pyKind(v))
		}
		bits := 8 * int(t.Size())
		if unsigned {
			if n < 0 || (bits < 64 && n >= 1<<bits) {
				return fmt.Errorf("%d is out of range for %s", n, t)
			}
			e.Uint64(uint64(n))
		} else {
			if bits < 64 && (n < -(1<<(bits-1)) || n >= 1<<(bits-1)) {
				return fmt.Errorf("%d is out of range for %s", n, t)
			}
			e.Int64(n)
		}
	}
	return nil
}

// goToPy decodes a result of Go type t (one pyConvertible accepts) as a Python value.
func goToPy(d *Decoder, t reflect.Type) any {
	switch t.Kind() {
	case reflect.String:
		return d.String()
	case reflect.Slice: // []byte
		return pickle.Bytes(d.ByteSlice())
	case reflect.Bool:
		return d.Bool()
	case reflect.Float32:
		return float64(d.Float32())
	case reflect.Float64:
		return d.Float64()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u := d.Uint64()
		if u > math.MaxInt64 {
			return pickle.NewBigInt(new(big.Int).SetUint64(u))
		}
		return int64(u)
	}
	return d.Int64()
}

func pyKind(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int64, pickle.BigInt:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case pickle.Bytes:
		return "bytes"
	case []any:
		return "list"
	case pickle.Tuple:
		return "tuple"
	case *pickle.Dict:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}
