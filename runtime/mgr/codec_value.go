package mgr

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"
)

// Codec encodes the values generated code does not spell out itself: type parameters,
// interface values and composites. Both ends of a connection must use the same Codec; its
// Name is compared during the handshake.
type Codec interface {
	// Name identifies the codec on the wire.
	Name() string
	// Encode appends v to e.
	Encode(e *Encoder, v any) error
	// Decode reads a value from d into the value ptr points to.
	Decode(d *Decoder, ptr any) error
}

// BinaryCodec is the default Codec: the mgr binary format driven by reflection over the
// static type, with type tags only inside interface values. It carries booleans, numbers,
// strings, byte slices, slices, arrays, maps, structs (exported fields), pointers,
// time.Time, errors, proxies, and inside interfaces the basic types, []any,
// map[string]any, types registered with RegisterValue, Python values (the pickle
// package's) and OpaqueValue, which stands for a registered type this process lacks.
type BinaryCodec struct{}

// Name returns "mgr-binary-1".
func (BinaryCodec) Name() string { return "mgr-binary-1" }

// Encode appends v.
func (BinaryCodec) Encode(e *Encoder, v any) error {
	if v == nil {
		return errors.New("mgr: cannot encode a nil interface without a static type")
	}
	rv := reflect.ValueOf(v)
	// Generated code passes a pointer to the value so that the static type is kept.
	if rv.Kind() == reflect.Pointer && !isProxyType(rv.Type()) {
		if rv.IsNil() {
			return errors.New("mgr: cannot encode through a nil pointer")
		}
		rv = rv.Elem()
	}
	encodeValue(e, rv)
	return e.err
}

// Decode reads into *ptr.
func (BinaryCodec) Decode(d *Decoder, ptr any) error {
	rv := reflect.ValueOf(ptr)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("mgr: decode needs a non-nil pointer, got %T", ptr)
	}
	decodeValue(d, rv.Elem())
	return d.err
}

var defaultCodec Codec = BinaryCodec{}

func codecOf(env refEnv) Codec {
	if env != nil {
		if c := env.codec(); c != nil {
			return c
		}
	}
	return defaultCodec
}

var (
	timeType  = reflect.TypeFor[time.Time]()
	errorType = reflect.TypeFor[error]()
)

// Type tags written before a value held in an interface.
const (
	tagNil byte = iota
	tagBool
	tagInt
	tagInt8
	tagInt16
	tagInt32
	tagInt64
	tagUint
	tagUint8
	tagUint16
	tagUint32
	tagUint64
	tagFloat32
	tagFloat64
	tagString
	tagBytes
	tagTime
	tagSlice // []any
	tagMap   // map[string]any
	tagNamed // a type registered with RegisterValue: its name, then the value (read only; see tagNamedSized)
	tagComplex128
	tagDuration
)

var tagTypes = map[byte]reflect.Type{
	tagBool: reflect.TypeFor[bool](), tagInt: reflect.TypeFor[int](), tagInt8: reflect.TypeFor[int8](),
	tagInt16: reflect.TypeFor[int16](), tagInt32: reflect.TypeFor[int32](), tagInt64: reflect.TypeFor[int64](),
	tagUint: reflect.TypeFor[uint](), tagUint8: reflect.TypeFor[uint8](), tagUint16: reflect.TypeFor[uint16](),
	tagUint32: reflect.TypeFor[uint32](), tagUint64: reflect.TypeFor[uint64](),
	tagFloat32: reflect.TypeFor[float32](), tagFloat64: reflect.TypeFor[float64](),
	tagString: reflect.TypeFor[string](), tagBytes: reflect.TypeFor[[]byte](), tagTime: timeType,
	tagSlice: reflect.TypeFor[[]any](), tagMap: reflect.TypeFor[map[string]any](),
	tagComplex128: reflect.TypeFor[complex128](), tagDuration: reflect.TypeFor[time.Duration](),
}

var typeTags = func() map[reflect.Type]byte {
	m := make(map[reflect.Type]byte, len(tagTypes))
	for tag, t := range tagTypes {
		m[t] = tag
	}
	return m
}()

// valueTypes is the registration table of named types that may travel inside interface
// values (Namespace attributes, Dict[string, any] values, ...).
var valueTypes struct {
	sync.RWMutex
	byName map[string]reflect.Type
	byType map[reflect.Type]string
}

// RegisterValue allows values of type T inside interface values (any). Call it from init
// in every process that sends or receives such values; the name defaults to the type's
// package path and name.
func RegisterValue[T any]() {
	t := reflect.TypeFor[T]()
	name := t.PkgPath() + "." + t.Name()
	if t.Name() == "" {
		name = t.String()
	}
	valueTypes.Lock()
	defer valueTypes.Unlock()
	if valueTypes.byName == nil {
		valueTypes.byName = map[string]reflect.Type{}
		valueTypes.byType = map[reflect.Type]string{}
	}
	valueTypes.byName[name] = t
	valueTypes.byType[t] = name
}

func encodeValue(e *Encoder, v reflect.Value) {
	if e.err != nil {
		return
	}
	// The same bound, counted the same way, as decodeValue's: a value the receiver would
	// refuse fails here, where the caller can see it, and a pointer cycle ends in an error
	// instead of a stack overflow that kills the process.
	if e.depth >= DefaultMaxDepth {
		e.SetErr(fmt.Errorf("mgr: a %s value nested deeper than %d levels (a pointer cycle?) cannot be encoded; the receiver would refuse it", v.Type(), DefaultMaxDepth))
		return
	}
	if e.limit > 0 && len(e.buf) > e.limit {
		e.SetErr(fmt.Errorf("%w: the encoding passed the limit of %d bytes (Options.MaxFrame) while a %s value was being written", ErrFrameTooLarge, e.limit, v.Type()))
		return
	}
	e.depth++
	encodeKind(e, v)
	e.depth--
}

func encodeKind(e *Encoder, v reflect.Value) {
	t := v.Type()
	switch {
	case t == timeType:
		e.Time(v.Interface().(time.Time))
		return
	case t == errorType:
		if v.IsNil() {
			e.Error(nil)
		} else {
			e.Error(v.Interface().(error))
		}
		return
	case isProxyType(t):
		encodeProxy(e, v)
		return
	}
	switch t.Kind() {
	case reflect.Bool:
		e.Bool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.Int64(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.Uint64(v.Uint())
	case reflect.Float32:
		e.Float32(float32(v.Float()))
	case reflect.Float64:
		e.Float64(v.Float())
	case reflect.Complex64, reflect.Complex128:
		e.Complex128(v.Complex())
	case reflect.String:
		e.String(v.String())
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			if v.IsNil() {
				e.ByteSlice(nil)
			} else {
				e.ByteSlice(v.Bytes())
			}
			return
		}
		if encodeFastSlice(e, v) { // codec_slices.go
			return
		}
		if v.IsNil() {
			e.Len(-1)
			return
		}
		e.Len(v.Len())
		for i := range v.Len() {
			encodeValue(e, v.Index(i))
		}
	case reflect.Array:
		for i := range v.Len() {
			encodeValue(e, v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			e.Len(-1)
			return
		}
		e.Len(v.Len())
		it := v.MapRange()
		for it.Next() {
			encodeValue(e, it.Key())
			encodeValue(e, it.Value())
		}
	case reflect.Struct:
		fields := exportedFields(t)
		e.Uint64(uint64(len(fields)))
		for _, i := range fields {
			encodeValue(e, v.Field(i))
		}
	case reflect.Pointer:
		if v.IsNil() {
			e.buf = append(e.buf, 0)
			return
		}
		e.buf = append(e.buf, 1)
		encodeValue(e, v.Elem())
	case reflect.Interface:
		encodeTagged(e, v)
	default:
		e.SetErr(fmt.Errorf("mgr: values of type %s cannot be encoded", t))
	}
}

func encodeTagged(e *Encoder, v reflect.Value) {
	if v.IsNil() {
		e.buf = append(e.buf, tagNil)
		return
	}
	inner := v.Elem()
	t := inner.Type()
	if tag, ok := typeTags[t]; ok {
		e.buf = append(e.buf, tag)
		encodeValue(e, inner)
		return
	}
	if t == opaqueValueType {
		encodeNamedSized(e, inner.Interface().(OpaqueValue).Type, inner) // as it came
		return
	}
	if name, ok := pythonValueName(t); ok {
		if t.Kind() == reflect.Pointer && inner.IsNil() {
			e.buf = append(e.buf, tagNil) // Python has no typed None
			return
		}
		encodeNamedSized(e, name, inner) // as its pickle: every process reads those
		return
	}
	valueTypes.RLock()
	name, ok := valueTypes.byType[t]
	valueTypes.RUnlock()
	if !ok {
		e.SetErr(unregisteredValueError(t))
		return
	}
	encodeNamedSized(e, name, inner)
}

var fieldCache sync.Map // reflect.Type → []int

func exportedFields(t reflect.Type) []int {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]int)
	}
	var idx []int
	for i := range t.NumField() {
		if t.Field(i).IsExported() {
			idx = append(idx, i)
		}
	}
	fieldCache.Store(t, idx)
	return idx
}

// minSize is the least number of bytes a value of type t takes on the wire, at least 1
// (so a count of zero-size elements stays bounded too), used to bound collection lengths
// before allocating.
func minSize(t reflect.Type) int { return max(1, wireMin(t)) }

// wireMin is the least number of bytes a value of type t takes on the wire; it must never
// exceed what the encoder writes, or valid messages would be refused.
func wireMin(t reflect.Type) int {
	if t == timeType || isProxyType(t) {
		return 1
	}
	switch t.Kind() {
	case reflect.Struct:
		// The field count, then each exported field. Counting the fields (not just 1)
		// keeps a slice of large structs from allocating far more than its message.
		if n, ok := structMinSize.Load(t); ok {
			return n.(int)
		}
		n := 1
		for _, i := range exportedFields(t) {
			n = min(n+wireMin(t.Field(i).Type), 1<<30)
		}
		structMinSize.Store(t, n)
		return n
	case reflect.Float32:
		return 4
	case reflect.Float64:
		return 8
	case reflect.Complex64, reflect.Complex128:
		return 16
	case reflect.Array:
		m := wireMin(t.Elem())
		if m == 0 || t.Len() <= (1<<30)/m {
			return t.Len() * m
		}
		return 1 << 30
	}
	return 1
}

var structMinSize sync.Map // reflect.Type → int

// claimTarget is Len for the one value a pointer or an interface holds: before its
// target of type t is allocated, the bytes its shortest encoding takes must be left, and
// they are claimed (see Decoder.claimed). Checking the bytes left keeps 2 bytes from
// allocating a *[16<<20]byte; claiming them keeps a chain of pointers or interfaces from
// allocating a target at every level against the same remaining bytes. The target's
// bytes follow the pointer's flag or the interface's tag, which are all an enclosing
// claim counted, so a well-formed message still never claims more than its length.
func (d *Decoder) claimTarget(t reflect.Type, what string) bool {
	need := wireMin(t)
	if need == 0 {
		return true
	}
	if left := len(d.buf) - d.off; need > left {
		d.Fail("%s: a %s takes at least %d bytes, %d left", what, t, need, left)
		return false
	}
	if need > len(d.buf)-d.claimed {
		d.Fail("%s: a %s of at least %d bytes exceeds the message's %d bytes together with the values around it", what, t, need, len(d.buf))
		return false
	}
	d.claimed += need
	return true
}

func decodeValue(d *Decoder, v reflect.Value) {
	if d.err != nil {
		return
	}
	maxDepth := d.MaxDepth
	if maxDepth == 0 {
		maxDepth = DefaultMaxDepth
	}
	if d.depth >= maxDepth {
		d.Fail("values nested deeper than %d", maxDepth)
		return
	}
	d.depth++
	decodeKind(d, v)
	d.depth--
}

func decodeKind(d *Decoder, v reflect.Value) {
	t := v.Type()
	switch {
	case t == timeType:
		v.Set(reflect.ValueOf(d.Time()))
		return
	case t == errorType:
		if err := d.Error(); err != nil {
			v.Set(reflect.ValueOf(err))
		} else {
			v.SetZero()
		}
		return
	case isProxyType(t):
		decodeProxy(d, v)
		return
	}
	switch t.Kind() {
	case reflect.Bool:
		v.SetBool(d.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(d.IntN(t.Bits()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(d.UintN(t.Bits()))
	case reflect.Float32:
		v.SetFloat(float64(d.Float32()))
	case reflect.Float64:
		v.SetFloat(d.Float64())
	case reflect.Complex64, reflect.Complex128:
		v.SetComplex(d.Complex128())
	case reflect.String:
		v.SetString(d.String())
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			b := d.ByteSlice()
			if b == nil {
				v.SetZero()
			} else {
				v.SetBytes(b)
			}
			return
		}
		if decodeFastSlice(d, v) { // codec_slices.go
			return
		}
		n := d.Len(minSize(t.Elem()))
		if n < 0 {
			v.SetZero()
			return
		}
		s := reflect.MakeSlice(t, n, n)
		for i := range n {
			decodeValue(d, s.Index(i))
		}
		v.Set(s)
	case reflect.Array:
		for i := range v.Len() {
			decodeValue(d, v.Index(i))
		}
	case reflect.Map:
		n := d.Len(minSize(t.Key()) + minSize(t.Elem()))
		if n < 0 {
			v.SetZero()
			return
		}
		m := reflect.MakeMapWithSize(t, n)
		for range n {
			k := reflect.New(t.Key()).Elem()
			decodeValue(d, k)
			e := reflect.New(t.Elem()).Elem()
			decodeValue(d, e)
			if d.err != nil {
				return
			}
			if !k.Comparable() { // an interface key holding a slice, map or func would panic
				d.Fail("map key of type %s holds an unhashable value", t.Key())
				return
			}
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		fields := exportedFields(t)
		n := d.Uint64()
		if d.err == nil && n != uint64(len(fields)) {
			d.Fail("%s has %d exported fields but the message has %d (are both ends built from the same code?)", t, len(fields), n)
			return
		}
		for _, i := range fields {
			decodeValue(d, v.Field(i))
		}
	case reflect.Pointer:
		if d.off >= len(d.buf) {
			d.Fail("pointer: unexpected end of data")
			return
		}
		flag := d.buf[d.off]
		d.off++
		switch flag {
		case 0:
			v.SetZero()
		case 1:
			if !d.claimTarget(t.Elem(), "pointer") {
				return
			}
			p := reflect.New(t.Elem())
			decodeValue(d, p.Elem())
			v.Set(p)
		default:
			d.Fail("pointer: invalid flag %d", flag)
		}
	case reflect.Interface:
		decodeTagged(d, v)
	default:
		d.Fail("values of type %s cannot be decoded", t)
	}
}

func decodeTagged(d *Decoder, v reflect.Value) {
	if d.off >= len(d.buf) {
		d.Fail("interface: unexpected end of data")
		return
	}
	tag := d.buf[d.off]
	d.off++
	var t reflect.Type
	switch tag {
	case tagNil:
		v.SetZero()
		return
	case tagNamedSized:
		decodeNamedSized(d, v) // codec_opaque.go
		return
	case tagNamed: // from a peer built before tagNamedSized
		name := d.String()
		if d.err != nil {
			return
		}
		valueTypes.RLock()
		t = valueTypes.byName[name]
		valueTypes.RUnlock()
		if t == nil {
			d.Fail("interface holds unregistered type %q (%s)", name, unregisteredNameHint(name))
			return
		}
	default:
		t = tagTypes[tag]
		if t == nil {
			d.Fail("interface: unknown type tag %d", tag)
			return
		}
	}
	if !d.claimTarget(t, "interface") {
		return
	}
	inner := reflect.New(t).Elem()
	decodeValue(d, inner)
	if d.err != nil {
		return
	}
	if !t.AssignableTo(v.Type()) {
		d.Fail("value of type %s does not fit in %s", t, v.Type())
		return
	}
	v.Set(inner)
}
