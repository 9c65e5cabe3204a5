package mgr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/mgr-go/mgr/internal/wire"
)

// Calls by name with arguments as text, for tools (mgrctl call) that have no generated
// proxy: the manager's own signature of the method says how to encode each argument and
// decode each result.

// MethodInfo is one exposed method of a type, as the manager serves it.
type MethodInfo struct {
	Name string
	// Sig is the signature without the context and the error, e.g. "func(int) string";
	// a generic type's methods name its type parameters ("func(T) bool").
	Sig string
}

// Methods returns the exposed methods of typeID in the manager, in its table's order.
func (c *Client) Methods(ctx context.Context, typeID string) ([]MethodInfo, error) {
	var ms []MethodInfo
	err := c.control(ctx, wire.CtlMethods, func(e *Encoder) { e.String(typeID) }, func(d *Decoder) {
		n := d.Len(2)
		for range n {
			ms = append(ms, MethodInfo{Name: d.String(), Sig: d.String()})
		}
	})
	return ms, err
}

// CallText calls the method called name of object objectID, whose type is typeID, with
// arguments given as text, and returns its results (without the error, which is the
// call's). Each argument is read as JSON of the parameter's type ("3", "true", "[1,2]",
// "{\"a\":1}"), except that a string parameter also takes bare text ("hello"), []byte
// takes its text's bytes, time.Duration takes "1.5s" and time.Time RFC 3339.
//
// Supported parameter and result types: bool, the integer and float types, string,
// []byte, time.Duration, time.Time, any (numbers come as float64, as JSON has them),
// and slices and maps of those; the type parameters of a generic type stand for the type
// arguments in its TypeID (in alphabetical order of their names: K, V). Proxies,
// structs, pointers and named types of other packages are not: such a method fails
// with an error wrapping errors.ErrUnsupported before anything is sent.
//
// The call needs no reference to the object: the manager looks objects up by ID.
func (c *Client) CallText(ctx context.Context, objectID uint64, typeID, name string, args []string) ([]any, error) {
	ms, err := c.Methods(ctx, typeID)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(ms, func(m MethodInfo) bool { return m.Name == name })
	if i < 0 {
		names := make([]string, len(ms))
		for j, m := range ms {
			names[j] = m.Name
		}
		return nil, callError(ErrUnknownMethod, "%s has no exposed method %s (it has %s)", typeID, name, listNames(names))
	}
	params, results, err := parseSig(ms[i].Sig, typeID)
	if err != nil {
		// Nothing differs between the two sides: the method is fine, text is not enough.
		return nil, fmt.Errorf("mgr: %s.%s%s cannot be called with text arguments: %v: %w", typeID, name, strings.TrimPrefix(ms[i].Sig, "func"), err, errors.ErrUnsupported)
	}
	if len(args) != len(params) {
		return nil, fmt.Errorf("mgr: %s.%s takes %d arguments %s, not %d", typeID, name, len(params), strings.TrimPrefix(ms[i].Sig, "func"), len(args))
	}
	h := &Handle{owner: c, id: objectID, typeID: typeID, sess: c.sessGen.Load()} // no reference of its own
	call := c.newCall(h, -1)
	call.name = name
	for j, t := range params {
		v, err := parseArg(args[j], t)
		if err != nil {
			call.recycle()
			return nil, fmt.Errorf("mgr: argument %d of %s.%s (%s): %w", j+1, typeID, name, t, err)
		}
		encodeDynamic(&call.Args, v)
	}
	res, err := call.Do(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(results))
	for j, t := range results {
		out[j] = decodeDynamic(res, t)
	}
	return out, call.End()
}

var (
	durationType = reflect.TypeFor[time.Duration]()

	bytesType = reflect.TypeFor[[]byte]()
	anyType   = reflect.TypeFor[any]()
)

// encodeDynamic encodes v as generated code encodes a value of its type.
func encodeDynamic(e *Encoder, v reflect.Value) {
	switch t := v.Type(); {
	case t == durationType:
		e.Duration(time.Duration(v.Int()))
	case t == timeType:
		e.Time(v.Interface().(time.Time))
	case t == bytesType:
		e.ByteSlice(v.Bytes())
	case t.Kind() == reflect.Bool:
		e.Bool(v.Bool())
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		e.Int64(v.Int())
	case t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uintptr:
		e.Uint64(v.Uint())
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		e.Float64(v.Float())
	case t.Kind() == reflect.String:
		e.String(v.String())
	default:
		p := reflect.New(t)
		p.Elem().Set(v)
		e.Value(p.Interface())
	}
}

// decodeDynamic decodes a value of type t as generated code does.
func decodeDynamic(d *Decoder, t reflect.Type) any {
	switch {
	case t == durationType:
		return d.Duration()
	case t == timeType:
		return d.Time()
	case t == bytesType:
		return d.ByteSlice()
	case t.Kind() == reflect.Bool:
		return d.Bool()
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return d.Int64()
	case t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uintptr:
		return d.Uint64()
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return d.Float64()
	case t.Kind() == reflect.String:
		return d.String()
	}
	p := reflect.New(t)
	d.Value(p.Interface())
	return p.Elem().Interface()
}

// parseArg reads one argument's text as a value of type t.
func parseArg(s string, t reflect.Type) (reflect.Value, error) {
	switch {
	case t == durationType:
		if d, err := time.ParseDuration(s); err == nil {
			return reflect.ValueOf(d), nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return reflect.Value{}, fmt.Errorf("%q is not a duration (1.5s, 200ms)", s)
		}
		return reflect.ValueOf(time.Duration(n)), nil
	case t == timeType:
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return reflect.Value{}, fmt.Errorf("%q is not an RFC 3339 time", s)
		}
		return reflect.ValueOf(tm), nil
	case t == bytesType:
		return reflect.ValueOf([]byte(s)), nil
	case t.Kind() == reflect.String:
		var str string
		if json.Unmarshal([]byte(s), &str) == nil {
			return reflect.ValueOf(str).Convert(t), nil
		}
		return reflect.ValueOf(s).Convert(t), nil
	case t == anyType:
		var v any
		if json.Unmarshal([]byte(s), &v) != nil {
			v = s // bare text
		}
		p := reflect.New(t)
		if v != nil {
			p.Elem().Set(reflect.ValueOf(v))
		}
		return p.Elem(), nil
	}
	p := reflect.New(t)
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(p.Interface()); err != nil {
		return reflect.Value{}, fmt.Errorf("%q is not a %s: %v", s, t, err)
	}
	if dec.More() {
		return reflect.Value{}, fmt.Errorf("%q: more than one value", s)
	}
	return p.Elem(), nil
}

// parseSig turns a method's signature into parameter and result types, the type
// parameters of typeID's generic type bound to its type arguments.
func parseSig(sig, typeID string) (params, results []reflect.Type, err error) {
	sig = strings.TrimSpace(sig)
	if !strings.HasPrefix(sig, "func(") {
		return nil, nil, fmt.Errorf("unreadable signature %q", sig)
	}
	p := &sigParser{s: sig[len("func"):], targs: typeArgs(typeID)}
	if params, err = p.list(); err != nil {
		return nil, nil, err
	}
	p.skipSpace()
	switch {
	case p.eof():
	case p.peek() == '(':
		results, err = p.list()
	default:
		var t reflect.Type
		t, err = p.typ()
		results = []reflect.Type{t}
	}
	if err == nil && !p.eof() {
		err = fmt.Errorf("unreadable signature %q", sig)
	}
	return params, results, err
}

// typeArgs returns the type arguments of a generic type's TypeID ("syncmgr.Dict[string,int]"
// → "string", "int"), or nil.
func typeArgs(typeID string) []string {
	i := strings.IndexByte(typeID, '[')
	if i < 0 || !strings.HasSuffix(typeID, "]") {
		return nil
	}
	var args []string
	depth, start := 0, i+1
	for j := i + 1; j < len(typeID)-1; j++ {
		switch typeID[j] {
		case '[', '(', '{':
			depth++
		case ']', ')', '}':
			depth--
		case ',':
			if depth == 0 {
				args = append(args, strings.TrimSpace(typeID[start:j]))
				start = j + 1
			}
		}
	}
	return append(args, strings.TrimSpace(typeID[start:len(typeID)-1]))
}

type sigParser struct {
	s     string
	targs []string
	depth int // slices and maps open around the type being read
}

// maxSigNesting bounds how deep a signature's slices and maps nest: the signature is
// the manager's text, and each level costs a recursion and a new reflect type (whose
// name grows with the depth).
const maxSigNesting = 32

func (p *sigParser) eof() bool  { p.skipSpace(); return p.s == "" }
func (p *sigParser) peek() byte { return p.s[0] }
func (p *sigParser) skipSpace() { p.s = strings.TrimLeft(p.s, " ") }

// list reads "(T, U)".
func (p *sigParser) list() ([]reflect.Type, error) {
	p.skipSpace()
	if !strings.HasPrefix(p.s, "(") {
		return nil, fmt.Errorf("want ( at %q", p.s)
	}
	p.s = p.s[1:]
	var ts []reflect.Type
	for {
		p.skipSpace()
		if strings.HasPrefix(p.s, ")") {
			p.s = p.s[1:]
			return ts, nil
		}
		t, err := p.typ()
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
		p.skipSpace()
		p.s = strings.TrimPrefix(p.s, ",")
	}
}

var basicTypes = map[string]reflect.Type{
	"bool": reflect.TypeFor[bool](), "string": reflect.TypeFor[string](),
	"int": reflect.TypeFor[int](), "int8": reflect.TypeFor[int8](), "int16": reflect.TypeFor[int16](),
	"int32": reflect.TypeFor[int32](), "int64": reflect.TypeFor[int64](), "rune": reflect.TypeFor[rune](),
	"uint": reflect.TypeFor[uint](), "uint8": reflect.TypeFor[uint8](), "uint16": reflect.TypeFor[uint16](),
	"uint32": reflect.TypeFor[uint32](), "uint64": reflect.TypeFor[uint64](), "byte": reflect.TypeFor[byte](),
	"uintptr": reflect.TypeFor[uintptr](), "float32": reflect.TypeFor[float32](), "float64": reflect.TypeFor[float64](),
	"any": anyType, "interface {}": anyType, "interface{}": anyType,
	"time.Duration": durationType, "time.Time": timeType,
}

// typ reads one type.
func (p *sigParser) typ() (reflect.Type, error) {
	p.skipSpace()
	if p.depth >= maxSigNesting {
		return nil, fmt.Errorf("types nested more than %d deep", maxSigNesting)
	}
	p.depth++
	defer func() { p.depth-- }()
	switch {
	case strings.HasPrefix(p.s, "[]"):
		p.s = p.s[2:]
		e, err := p.typ()
		if err != nil {
			return nil, err
		}
		return reflect.SliceOf(e), nil
	case strings.HasPrefix(p.s, "map["):
		p.s = p.s[4:]
		k, err := p.typ()
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(p.s, "]") {
			return nil, fmt.Errorf("want ] at %q", p.s)
		}
		p.s = p.s[1:]
		v, err := p.typ()
		if err != nil {
			return nil, err
		}
		if !k.Comparable() {
			return nil, fmt.Errorf("map key %s is not comparable", k)
		}
		return reflect.MapOf(k, v), nil
	case strings.HasPrefix(p.s, "interface {}"):
		p.s = p.s[len("interface {}"):]
		return anyType, nil
	}
	n := strings.IndexFunc(p.s, func(r rune) bool { return r == ',' || r == ')' || r == ']' || r == ' ' || r == '[' })
	if n < 0 {
		n = len(p.s)
	}
	name := p.s[:n]
	p.s = p.s[n:]
	if strings.HasPrefix(p.s, "[") {
		return nil, fmt.Errorf("%s[…]: instances of generic types are not supported", name)
	}
	if t, ok := basicTypes[name]; ok {
		return t, nil
	}
	if isTypeParam(name) && len(p.targs) > 0 {
		return p.typeParam(name)
	}
	if name == "" {
		return nil, fmt.Errorf("unreadable type at %q", p.s)
	}
	return nil, fmt.Errorf("%s is not supported (only basic types, slices and maps of them)", name)
}

// typeParam binds a type parameter name to a type argument of the TypeID.
func (p *sigParser) typeParam(name string) (reflect.Type, error) {
	if len(p.targs) == 1 {
		return (&sigParser{s: p.targs[0]}).whole()
	}
	// Several: their names in alphabetical order stand for the arguments in order
	// (Dict[K, V]). The names met so far may not be all of them; K and V, the only
	// multi-parameter SyncManager type's, are bound right.
	names := map[string]int{"K": 0, "V": 1}
	i, ok := names[name]
	if !ok || len(p.targs) != 2 {
		return nil, fmt.Errorf("type parameter %s of a type with %d type arguments is not supported", name, len(p.targs))
	}
	return (&sigParser{s: p.targs[i]}).whole()
}

// whole reads p.s as exactly one type.
func (p *sigParser) whole() (reflect.Type, error) {
	t, err := p.typ()
	if err == nil && !p.eof() {
		err = fmt.Errorf("unreadable type %q", p.s)
	}
	return t, err
}

// isTypeParam reports whether name looks like a type parameter: an identifier without a
// package.
func isTypeParam(name string) bool {
	if name == "" || strings.Contains(name, ".") {
		return false
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
			return false
		}
	}
	return true
}
