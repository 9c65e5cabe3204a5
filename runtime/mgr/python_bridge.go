package mgr

import (
	"context"
	"fmt"
	"math"
	"math/big"
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
		params, results, ok := pySig(m.Sig)
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

// pySig splits "func(int, string) (bool, int)" into its parameter and result types,
// reporting whether every one has a Python form.
func pySig(sig string) (params, results []string, ok bool) {
	rest, found := strings.CutPrefix(sig, "func(")
	if !found {
		return nil, nil, false
	}
	i := strings.IndexByte(rest, ')')
	if i < 0 {
		return nil, nil, false
	}
	params = splitTypes(rest[:i])
	out := strings.TrimSpace(rest[i+1:])
	out = strings.TrimSuffix(strings.TrimPrefix(out, "("), ")")
	results = splitTypes(out)
	for _, t := range append(append([]string{}, params...), results...) {
		if !pyConvertible(t) {
			return nil, nil, false
		}
	}
	return params, results, true
}

func splitTypes(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func pyConvertible(t string) bool {
	switch t {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64",
		"float32", "float64", "string", "bool", "[]byte":
		return true
	}
	return false
}

// bitsOf is the size of a Go integer type (0 for int and uint: the platform's).
func bitsOf(t string) int {
	switch t {
	case "int8", "uint8":
		return 8
	case "int16", "uint16":
		return 16
	case "int32", "uint32":
		return 32
	}
	return 64
}

// bridgeMethod calls m with Python arguments converted to params.
func bridgeMethod(name string, m *Method, params, results []string) PyMethod {
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

// pyToGo encodes Python value v as Go type t, as the generated Call decodes it.
func pyToGo(e *Encoder, t string, v any) error {
	switch t {
	case "string":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("must be str, not %s", pyKind(v))
		}
		e.String(s)
	case "[]byte":
		switch b := v.(type) {
		case pickle.Bytes:
			e.ByteSlice([]byte(b))
		case pickle.ByteArray:
			e.ByteSlice(b)
		default:
			return fmt.Errorf("must be bytes, not %s", pyKind(v))
		}
	case "bool":
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("must be bool, not %s", pyKind(v))
		}
		e.Bool(b)
	case "float32", "float64":
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case int64:
			f = float64(x)
		default:
			return fmt.Errorf("must be float, not %s", pyKind(v))
		}
		if t == "float32" {
			e.Float32(float32(f))
		} else {
			e.Float64(f)
		}
	default: // the integer types
		if b, isBig := v.(pickle.BigInt); isBig {
			// A Python int beyond int64: only a uint64 can hold one, and only up to 2⁶⁴-1.
			if x := b.Big(); t == "uint64" && x.Sign() > 0 && x.IsUint64() {
				e.Uint64(x.Uint64())
				return nil
			}
			return fmt.Errorf("%s is out of range for %s", b, t)
		}
		n, ok := v.(int64)
		if !ok {
			if b, isBool := v.(bool); isBool {
				n, ok = map[bool]int64{true: 1, false: 0}[b], true
			}
		}
		if !ok {
			return fmt.Errorf("must be int, not %s", pyKind(v))
		}
		bits := bitsOf(t)
		if strings.HasPrefix(t, "u") {
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

// goToPy decodes a result of Go type t as a Python value.
func goToPy(d *Decoder, t string) any {
	switch t {
	case "string":
		return d.String()
	case "[]byte":
		return pickle.Bytes(d.ByteSlice())
	case "bool":
		return d.Bool()
	case "float32":
		return float64(d.Float32())
	case "float64":
		return d.Float64()
	}
	if strings.HasPrefix(t, "u") {
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
