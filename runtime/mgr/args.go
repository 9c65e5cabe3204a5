package mgr

import (
	"fmt"
	"reflect"
	"strings"
)

// Plain values handed to another process of this binary: Spawn arguments and
// Options.InitArg.
//
// They travel in the child's JSON configuration line, but not as JSON: JSON turns every
// number inside an any into a float64 and drops unexported fields without a word. They
// are encoded with the connection's Codec (BinaryCodec unless Options.Codec says
// otherwise), the same format a Queue[any] or a Dict[string, any] uses, as the value's
// own dynamic type, and the type's name travels beside the bytes. The receiver decodes
// into the type it asks for, which must be the type that was sent (integers of either
// signedness may widen or narrow within range): a mismatch is an error naming both types,
// never a reinterpretation of the bytes. Values inside interfaces (an []any, a
// map[string]any, a struct field of type any) carry their own type tags, and named types
// there must be registered with RegisterValue, as everywhere in mgr; a worker is this
// same binary, so the init that registers them in the parent registers them there too.
//
// What BinaryCodec cannot carry is refused by the sender, naming the place inside the
// value: funcs, channels, unsafe pointers, proxies (other than as a whole Spawn
// argument), struct types with unexported fields (the codec carries exported fields only
// and would lose the rest silently), and values nested deeper than the decoder accepts
// (which also catches pointer cycles).

// encodedValue is a plain value on its way to another process of this binary.
type encodedValue struct {
	// Type is typeKey of the value's dynamic type; empty for a nil interface.
	Type string `json:",omitempty"`
	// Bytes is the value encoded with the codec as its dynamic type.
	Bytes []byte `json:",omitempty"`
}

// typeKey names t for encodedValue: the name RegisterValue gives it (package path and
// name for a named type, the type's spelling otherwise).
func typeKey(t reflect.Type) string {
	if t.Name() != "" && t.PkgPath() != "" {
		return t.PkgPath() + "." + t.Name()
	}
	return t.String()
}

// shortKey is key as Go prints its type: a named type with its package's name, not its
// path.
func shortKey(key string) string {
	if i := strings.LastIndexByte(key, '/'); i >= 0 && !strings.ContainsAny(key[:i], " *[]{}()") {
		return key[i+1:]
	}
	return key
}

// typeByKey finds a type by its typeKey in this process: a type an interface may hold
// without registration (the basic types, []any, map[string]any, time.Time, ...) or one
// registered with RegisterValue.
func typeByKey(key string) reflect.Type {
	if t, ok := tagTypesByKey[key]; ok {
		return t
	}
	valueTypes.RLock()
	defer valueTypes.RUnlock()
	return valueTypes.byName[key]
}

var tagTypesByKey = func() map[string]reflect.Type {
	m := make(map[string]reflect.Type, len(tagTypes))
	for _, t := range tagTypes {
		m[typeKey(t)] = t
	}
	return m
}()

// encodePlain encodes v for another process with cdc, after refusing (for BinaryCodec)
// what that codec would lose or could not decode.
func encodePlain(cdc Codec, v any) (encodedValue, error) {
	if v == nil {
		return encodedValue{}, nil
	}
	rv := reflect.ValueOf(v)
	if _, ok := cdc.(BinaryCodec); ok {
		if err := checkPlain(rv, "", 0); err != nil {
			return encodedValue{}, err
		}
	}
	// Encode through a pointer to a copy so the codec keeps the dynamic type exactly (it
	// dereferences a pointer it is handed: a *T argument must stay a *T).
	p := reflect.New(rv.Type())
	p.Elem().Set(rv)
	e := NewEncoder(nil)
	if err := cdc.Encode(e, p.Interface()); err != nil {
		return encodedValue{}, err
	}
	return encodedValue{Type: typeKey(rv.Type()), Bytes: e.Bytes()}, nil
}

// decodePlain decodes ev into a new value of type t, which must be ev's type (or an
// interface type ev's type implements, found by typeByKey). what names the value in
// errors ("argument 2 of worker \"add\"").
func decodePlain(cdc Codec, ev encodedValue, t reflect.Type, what string) (reflect.Value, error) {
	out := reflect.New(t).Elem()
	if ev.Type == "" { // nil was sent
		switch t.Kind() {
		case reflect.Interface, reflect.Pointer, reflect.Slice, reflect.Map:
			return out, nil
		}
		return out, fmt.Errorf("mgr: %s is nil, which a %s cannot hold", what, t)
	}
	target := t
	if t.Kind() == reflect.Interface {
		// Decode as the type that was sent, then put it in the interface.
		sent := typeByKey(ev.Type)
		if sent == nil {
			return out, fmt.Errorf("mgr: %s is a %s, which this process can rebuild inside a %s only if it is registered with mgr.RegisterValue; register it from init, or ask for the %s itself", what, ev.Type, t, shortKey(ev.Type))
		}
		if !sent.AssignableTo(t) {
			return out, fmt.Errorf("mgr: %s is a %s, which does not implement %s", what, sent, t)
		}
		target = sent
	} else if key := typeKey(t); key != ev.Type && !sameIntFamily(ev.Type, t) {
		return out, fmt.Errorf("mgr: %s is a %s, not a %s", what, shortKey(ev.Type), t)
	}
	v := reflect.New(target)
	d := NewDecoder(ev.Bytes)
	err := cdc.Decode(d, v.Interface())
	if err == nil {
		err = d.Done()
	}
	if err != nil {
		return out, fmt.Errorf("mgr: %s as %s: %w", what, target, err)
	}
	out.Set(v.Elem())
	return out, nil
}

// sameIntFamily reports whether an integer of the basic type named sent may be decoded
// into t: both signed or both unsigned, so the encoding is the same and the decoder
// checks the range. Passing 3 (an int) to a worker that reads an int64 works.
func sameIntFamily(sent string, t reflect.Type) bool {
	st, ok := tagTypesByKey[sent]
	if !ok || t.PkgPath() != "" { // named integer types (time.Duration) stay exact
		return false
	}
	return isSigned(st.Kind()) && isSigned(t.Kind()) || isUnsigned(st.Kind()) && isUnsigned(t.Kind())
}

func isSigned(k reflect.Kind) bool { return k >= reflect.Int && k <= reflect.Int64 }

func isUnsigned(k reflect.Kind) bool { return k >= reflect.Uint && k <= reflect.Uint64 }

// checkPlain refuses what BinaryCodec cannot carry to another process, naming where in
// the value it is (path, like ".Config.Hooks[2]"). depth mirrors the decoder's nesting
// count: each value visited is one level, as decodeValue counts them.
func checkPlain(v reflect.Value, path string, depth int) error {
	at := func() string {
		if path == "" {
			return ""
		}
		return " at " + path
	}
	if depth >= DefaultMaxDepth {
		return fmt.Errorf("value nested deeper than %d levels%s (a pointer cycle?); the receiving process would refuse it", DefaultMaxDepth, at())
	}
	t := v.Type()
	switch {
	case t == timeType || t == errorType:
		return nil
	case isProxyType(t):
		if v.IsNil() {
			return nil
		}
		return fmt.Errorf("a proxy (%s)%s cannot travel inside a plain value: pass it as an argument of its own (it travels as a token), or store it in a shared container", t, at())
	}
	switch t.Kind() {
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return fmt.Errorf("a %s%s cannot be sent to another process", t, at())
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				return fmt.Errorf("%s%s has unexported field %s, which the codec does not carry (it would arrive as its zero value); export it, or send a type with exported fields only", t, at(), f.Name)
			}
		}
		for i := range t.NumField() {
			if err := checkPlain(v.Field(i), path+"."+t.Field(i).Name, depth+1); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			return nil // a byte slice is one value on the wire
		}
		if scalarKind(t.Elem()) {
			return nil // a long []int need not be walked
		}
		for i := range v.Len() {
			if err := checkPlain(v.Index(i), fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
	case reflect.Map:
		if scalarKind(t.Key()) && scalarKind(t.Elem()) {
			return nil
		}
		it := v.MapRange()
		for it.Next() {
			p := fmt.Sprintf("%s[%v]", path, it.Key())
			if err := checkPlain(it.Key(), p+" (key)", depth+1); err != nil {
				return err
			}
			if err := checkPlain(it.Value(), p, depth+1); err != nil {
				return err
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			return checkPlain(v.Elem(), path, depth+1)
		}
	case reflect.Interface:
		if !v.IsNil() {
			return checkPlain(v.Elem(), path, depth+1)
		}
	}
	return nil
}

// scalarKind reports whether values of t are a single number, bool or string on the
// wire (nothing inside to check), for the named time.Duration too.
func scalarKind(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.String, reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	}
	return isSigned(t.Kind()) || isUnsigned(t.Kind()) || t.Kind() == reflect.Uintptr
}
