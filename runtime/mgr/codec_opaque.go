package mgr

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"

	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
)

// OpaqueValue is a value held in an interface (any) whose named type this process does
// not know: registered with RegisterValue in the process that sent it but not here. The
// decoder gives it instead of failing, so a Go client reading a Queue[any] or a
// Dict[any, any] that holds such a value still gets it (and the manager, which commits a
// Get before it replies, never loses it); encoding an OpaqueValue inside an interface
// writes the same type name and the same bytes back, so a process can move values it
// cannot read from one shared object to another untouched.
//
// Python values (a tuple, dict, set, big int, bytes, class instance stored by a CPython
// client) never arrive as OpaqueValue: every process links the pickle package they are
// values of, so they arrive as those values (pickle.Tuple, *pickle.Dict, pickle.Opaque
// for instances of Python classes, ...).
type OpaqueValue struct {
	// Type is the name the sending process registered the type under (RegisterValue:
	// its package path and name), for example "example.com/app.Job".
	Type string
	// Data is the value in the mgr binary format, exactly as sent. It is meaningful only
	// to a process that registered Type; do not change it.
	Data []byte
}

// String describes the value without decoding it.
func (o OpaqueValue) String() string {
	return fmt.Sprintf("mgr.OpaqueValue{%s, %d bytes}", o.Type, len(o.Data))
}

var opaqueValueType = reflect.TypeFor[OpaqueValue]()

// picklePrefix begins the names of Python values (pythonValueName).
var picklePrefix = picklePkg + "."

// tagNamedSized is tagNamed with the value's length written before it: the name, the
// length of the value's encoding, then the value. The length lets a process that does
// not know the name keep the value as an OpaqueValue instead of failing the whole
// message. Every named value is written this way; tagNamed (no length) is still read
// from peers built before it.
const tagNamedSized = tagDuration + 1

// pythonValueName is the type name a Python value travels under: the pickle package's
// name for its Go type, with its pickle as the value.
func pythonValueName(t reflect.Type) (string, bool) {
	base := t
	if base.Kind() == reflect.Pointer {
		base = base.Elem()
	}
	if base.PkgPath() != picklePkg || base.Name() == "" {
		return "", false
	}
	return picklePrefix + base.Name(), true
}

// encodeNamedSized writes a named value: its name, its length, its encoding. Python
// values (the pickle package's types) are written as their pickle, which every process
// can read back with the pickle package; other types with the codec.
func encodeNamedSized(e *Encoder, name string, inner reflect.Value) {
	e.buf = append(e.buf, tagNamedSized)
	e.String(name)
	if inner.Type() == opaqueValueType { // (checked first: Interface would box any value)
		o := inner.Interface().(OpaqueValue)
		e.Uint64(uint64(len(o.Data)))
		e.buf = append(e.buf, o.Data...)
		return
	}
	start := len(e.buf)
	if strings.HasPrefix(name, picklePrefix) {
		out, err := pickle.AppendEncode(e.buf, inner.Interface())
		if err != nil {
			e.SetErr(fmt.Errorf("mgr: a Python value of type %s cannot be encoded: %w", inner.Type(), err))
			return
		}
		e.buf = out
	} else {
		encodeValue(e, inner)
		if e.err != nil {
			return
		}
	}
	// Put the length before the value: shift the value up by the length's size.
	n := len(e.buf) - start
	var lb [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(lb[:], uint64(n))
	e.buf = append(e.buf, lb[:k]...)
	copy(e.buf[start+k:], e.buf[start:start+n])
	copy(e.buf[start:], lb[:k])
}

// decodeNamedSized reads what encodeNamedSized wrote (the tag already read) into the
// interface v: the registered type's value, a Python value, or, for a name this process
// does not know, an OpaqueValue holding the bytes.
func decodeNamedSized(d *Decoder, v reflect.Value) {
	name := d.String()
	n := d.length("named value")
	if d.err != nil {
		return
	}
	end := d.off + n
	var val reflect.Value
	valueTypes.RLock()
	t := valueTypes.byName[name]
	valueTypes.RUnlock()
	switch {
	case strings.HasPrefix(name, picklePrefix):
		body := d.claimBody(n, "python value")
		if d.err != nil {
			return
		}
		left := d.pythonExpansionLeft()
		pv, err := pythonValueOptions(n).DecodeWithin(body, &left)
		d.pyExpanded = pythonExpansion(len(d.buf)) - left
		if err != nil {
			d.Fail("interface holds a Python value (%s) whose pickle cannot be read: %v", name, err)
			return
		}
		if pv == nil {
			v.SetZero()
			return
		}
		if !isPythonValue(pv) {
			// encodeNamedSized writes only the pickle package's values (a small BigInt
			// reads back as an int64). A list here would be a plain []any, which the
			// codec writes back without the pickle's sharing: a few bytes of lists that
			// hold one list twice, thirty deep, would be 2^30 lists to write.
			d.Fail("interface holds a Python value (%s) whose pickle holds a %T, not a value of that package", name, pv)
			return
		}
		val = reflect.ValueOf(pv)
	case t == nil:
		body := d.claimBody(n, "named value")
		if d.err != nil {
			return
		}
		val = reflect.ValueOf(OpaqueValue{Type: name, Data: append(make([]byte, 0, n), body...)})
	default:
		if !d.claimTarget(t, "interface") {
			return
		}
		val = reflect.New(t).Elem()
		decodeValue(d, val)
		if d.err != nil {
			return
		}
		if d.off != end {
			d.Fail("interface: a %s value took %d bytes, its length says %d", name, d.off-(end-n), n)
			return
		}
	}
	if !val.Type().AssignableTo(v.Type()) {
		d.Fail("value of type %s does not fit in %s", val.Type(), v.Type())
		return
	}
	v.Set(val)
}

// isPythonValue reports whether v, decoded from a named Python value's pickle, is what
// encodeNamedSized writes: a value of the pickle package's types, or a scalar.
func isPythonValue(v any) bool {
	switch v.(type) {
	case bool, int64, float64, complex128, string:
		return true
	}
	_, ok := pythonValueName(reflect.TypeOf(v))
	return ok
}

// claimBody takes the n bytes of a value kept or decoded whole, claiming them (see
// Decoder.claimed): they follow the interface's tag, which is all an enclosing claim
// counted, so a well-formed message still never claims more than its length.
func (d *Decoder) claimBody(n int, what string) []byte {
	if n > len(d.buf)-d.claimed {
		d.Fail("%s of %d bytes exceeds the message's %d bytes together with the values around it", what, n, len(d.buf))
		return nil
	}
	b := d.take(n, what)
	if d.err == nil {
		d.claimed += n
	}
	return b
}

// pythonValueOptions bounds the decoding of a Python value's n-byte pickle; how much
// it may expand is the message's to say (pythonExpansion).
func pythonValueOptions(n int) pickle.Options {
	return pickle.Options{Limits: pickle.Limits{MaxSize: max(n, 1), MaxExpand: pythonExpansion(n)}}
}

// pythonExpansion is how many bytes of canonical encodings the Python values in an
// n-byte message may build, in all. The pickle decoder's default (64 MiB whatever the
// input) suits a CPython client's request; inside a codec message it would break the
// codec's rule that N bytes never allocate much more than N. Tuples spell out what they
// hold, so a tuple sharing one string a thousand times through the memo expands; 64×
// the message's bytes and 1 MiB more lets such values through. The allowance is the
// message's, shared by all its values (Decoder.pyExpanded): one per value let each of
// 64 copies of a 150-byte pickle build 0.7 MB, 13 KB of message allocating 255 MB.
func pythonExpansion(n int) int { return 64*n + 1<<20 }

// pythonExpansionLeft is what the Python values decoded next may still build.
func (d *Decoder) pythonExpansionLeft() int {
	return max(pythonExpansion(len(d.buf))-d.pyExpanded, 0)
}
