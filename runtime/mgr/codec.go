package mgr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// The mgr binary format.
//
// Every value is written without type information, in an order both ends know from the
// method's signature: generated code calls the Encoder and Decoder methods below in the
// same order on both sides. Integers are varints (signed ones zig-zag), floats are fixed
// little-endian, strings and byte slices are a uvarint length and the bytes, collections
// are a uvarint count and their elements. Values whose type the generator cannot spell out
// statically (type parameters, interfaces, nested composites) go through the session's
// Codec (see codec_value.go).
//
// Decoding never trusts a length: every count is checked against the bytes that remain
// before anything is allocated, so a frame of N bytes can never make the decoder allocate
// much more than N bytes, and nesting is bounded by Decoder.MaxDepth.

// ErrDecode is wrapped by every error the Decoder reports about malformed input.
var ErrDecode = errors.New("mgr: malformed message")

// Encoder appends values in the mgr binary format to a buffer. The zero value is ready to
// use; generated code gets one from the runtime for each call.
type Encoder struct {
	buf []byte
	env refEnv
	err error
	// refs lists the references a reply counted for its session (Ref, Object), when
	// track is set: the manager undoes them if the reply becomes an error, and names
	// them in the reply so a client that gave up on the call can drop them.
	refs  []uint64
	track bool
	// undo lists what the method registered with Undo (replies only).
	undo []func()
	// keep holds the handles of proxy arguments until the call has its reply (calls).
	keep []*Handle
	// depth is the nesting of the value being encoded through the Codec.
	depth int
	// limit, when not 0, is the most bytes buf may hold: a reply's frame limit. Values
	// that share parts (one []any held twice, thirty levels down, as a CPython client's
	// list can be) are spelled out in full, so the encoding stops at the limit instead
	// of growing on after it.
	limit int
}

// NewEncoder returns an Encoder that appends to buf, for use outside a call (tests, tools).
// Proxies cannot be encoded by such an Encoder.
func NewEncoder(buf []byte) *Encoder { return &Encoder{buf: buf} }

// Bytes returns the encoded bytes.
func (e *Encoder) Bytes() []byte { return e.buf }

// Err returns the first error met while encoding (an unsupported value), or nil.
func (e *Encoder) Err() error { return e.err }

// SetErr records err as the Encoder's error unless one is already recorded.
func (e *Encoder) SetErr(err error) {
	if e.err == nil {
		e.err = err
	}
}

// Bool appends a bool.
func (e *Encoder) Bool(v bool) {
	if v {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}

// Int64 appends a signed integer (zig-zag varint); every signed integer type uses it.
func (e *Encoder) Int64(v int64) { e.buf = binary.AppendVarint(e.buf, v) }

// Uint64 appends an unsigned integer (varint); every unsigned integer type uses it.
func (e *Encoder) Uint64(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }

// Float64 appends a float64 as 8 little-endian bytes.
func (e *Encoder) Float64(v float64) {
	e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(v))
}

// Float32 appends a float32 as 4 little-endian bytes.
func (e *Encoder) Float32(v float32) {
	e.buf = binary.LittleEndian.AppendUint32(e.buf, math.Float32bits(v))
}

// Complex128 appends a complex128 as two float64s.
func (e *Encoder) Complex128(v complex128) {
	e.Float64(real(v))
	e.Float64(imag(v))
}

// String appends a string.
func (e *Encoder) String(v string) {
	e.buf = binary.AppendUvarint(e.buf, uint64(len(v)))
	e.buf = append(e.buf, v...)
}

// ByteSlice appends a byte slice, keeping nil apart from empty: the length is written plus
// one, and zero means nil.
func (e *Encoder) ByteSlice(v []byte) {
	if v == nil {
		e.buf = append(e.buf, 0)
		return
	}
	e.buf = binary.AppendUvarint(e.buf, uint64(len(v))+1)
	e.buf = append(e.buf, v...)
}

// Len appends a collection length; -1 stands for a nil slice or map.
func (e *Encoder) Len(n int) { e.buf = binary.AppendUvarint(e.buf, uint64(n+1)) }

// Time appends a time.Time with its location offset (time.Time.MarshalBinary).
func (e *Encoder) Time(t time.Time) {
	b, err := t.MarshalBinary()
	if err != nil {
		e.SetErr(fmt.Errorf("mgr: encode time: %w", err))
		return
	}
	e.ByteSlice(b)
}

// Duration appends a time.Duration.
func (e *Encoder) Duration(d time.Duration) { e.Int64(int64(d)) }

// Error appends an error value carried as data (a method result of type error is not
// this: it travels as the call's error). nil stays nil; otherwise the message is kept and
// registered sentinels keep their identity.
func (e *Encoder) Error(err error) {
	if err == nil {
		e.buf = append(e.buf, 0)
		return
	}
	e.buf = append(e.buf, 1)
	e.String(err.Error())
	e.String(sentinelName(err))
}

// Value appends any value through the session's Codec (the binary reflection codec by
// default). Generated code uses it for types it does not spell out.
func (e *Encoder) Value(v any) {
	if e.err != nil {
		return
	}
	if err := codecOf(e.env).Encode(e, v); err != nil {
		e.SetErr(err)
	}
}

// Decoder reads values in the mgr binary format. Errors are sticky: after the first one
// every read returns a zero value, and Err or Done reports it, so generated code checks
// once at the end.
type Decoder struct {
	buf  []byte
	off  int
	env  refEnv
	err  error
	meta []byte // a call's metadata, for the manager's interceptors (interceptor.go)
	// MaxDepth bounds the nesting of values decoded through the Codec.
	MaxDepth int
	depth    int
	// claimed sums, over every collection length read so far, the least number of bytes
	// its elements take, and over every pointer or interface target allocated, the least
	// its value takes (claimTarget). The elements of distinct collections and distinct
	// targets occupy distinct bytes, so a well-formed message never claims more than its
	// length; checking the sum (not only each claim against the bytes left) stops nested
	// collections and targets from each claiming the same remaining bytes and multiplying
	// the allocation by the nesting depth.
	claimed int
	// pyExpanded sums the bytes the Python values decoded so far built beyond their
	// pickles (pythonExpansion bounds it for the whole message).
	pyExpanded int
}

// DefaultMaxDepth is the nesting bound of a Decoder whose MaxDepth is zero.
const DefaultMaxDepth = 64

// NewDecoder returns a Decoder over buf, for use outside a call (tests, tools).
func NewDecoder(buf []byte) *Decoder { return &Decoder{buf: buf} }

// Err returns the first decoding error, or nil.
func (d *Decoder) Err() error { return d.err }

// Remaining returns the number of bytes not yet read.
func (d *Decoder) Remaining() int { return len(d.buf) - d.off }

// Done reports the first decoding error, or an error if bytes are left over: a message
// must be consumed exactly.
func (d *Decoder) Done() error {
	if d.err != nil {
		return d.err
	}
	if d.off != len(d.buf) {
		return fmt.Errorf("%w: %d unexpected trailing bytes", ErrDecode, len(d.buf)-d.off)
	}
	return nil
}

// Fail records a decoding error (wrapping ErrDecode) unless one is already recorded.
func (d *Decoder) Fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrDecode, fmt.Sprintf(format, args...))
	}
}

// SetErr records err unless an error is already recorded.
func (d *Decoder) SetErr(err error) {
	if d.err == nil {
		d.err = err
	}
}

// Bool reads a bool; any byte other than 0 or 1 is an error.
func (d *Decoder) Bool() bool {
	if d.err != nil {
		return false
	}
	if d.off >= len(d.buf) {
		d.Fail("bool: unexpected end of data")
		return false
	}
	b := d.buf[d.off]
	d.off++
	if b > 1 {
		d.Fail("bool: invalid byte %d", b)
		return false
	}
	return b == 1
}

// Int64 reads a signed integer.
func (d *Decoder) Int64() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf[d.off:])
	if n <= 0 {
		d.Fail("invalid varint")
		return 0
	}
	d.off += n
	return v
}

// Uint64 reads an unsigned integer.
func (d *Decoder) Uint64() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf[d.off:])
	if n <= 0 {
		d.Fail("invalid uvarint")
		return 0
	}
	d.off += n
	return v
}

// IntN reads a signed integer that must fit in bits bits (8, 16, 32 or 64).
func (d *Decoder) IntN(bits int) int64 {
	v := d.Int64()
	if bits < 64 && (v < -(1<<(bits-1)) || v >= 1<<(bits-1)) {
		d.Fail("integer %d overflows int%d", v, bits)
		return 0
	}
	return v
}

// UintN reads an unsigned integer that must fit in bits bits.
func (d *Decoder) UintN(bits int) uint64 {
	v := d.Uint64()
	if bits < 64 && v >= 1<<bits {
		d.Fail("integer %d overflows uint%d", v, bits)
		return 0
	}
	return v
}

// Int reads an int (checked against the platform's int size).
func (d *Decoder) Int() int { return int(d.IntN(strconvIntSize)) }

const strconvIntSize = 32 << (^uint(0) >> 63)

func (d *Decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.buf)-d.off {
		d.Fail("%s: length %d exceeds the %d bytes left", what, n, len(d.buf)-d.off)
		return nil
	}
	b := d.buf[d.off : d.off+n]
	d.off += n
	return b
}

// Float64 reads a float64.
func (d *Decoder) Float64() float64 {
	b := d.take(8, "float64")
	if b == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

// Float32 reads a float32.
func (d *Decoder) Float32() float32 {
	b := d.take(4, "float32")
	if b == nil {
		return 0
	}
	return math.Float32frombits(binary.LittleEndian.Uint32(b))
}

// Complex128 reads a complex128.
func (d *Decoder) Complex128() complex128 {
	r := d.Float64()
	i := d.Float64()
	return complex(r, i)
}

func (d *Decoder) length(what string) int {
	n := d.Uint64()
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.buf)-d.off) {
		d.Fail("%s: length %d exceeds the %d bytes left", what, n, len(d.buf)-d.off)
		return 0
	}
	return int(n)
}

// String reads a string.
func (d *Decoder) String() string {
	n := d.length("string")
	b := d.take(n, "string")
	if len(b) == 0 {
		return ""
	}
	return string(b)
}

// stringBytes reads a string without copying it: the bytes stay the frame's, valid only
// while it is.
func (d *Decoder) stringBytes() []byte {
	n := d.length("string")
	return d.take(n, "string")
}

// ByteSlice reads a byte slice into fresh memory.
func (d *Decoder) ByteSlice() []byte {
	n := d.Uint64()
	if d.err != nil || n == 0 {
		return nil
	}
	if n-1 > uint64(len(d.buf)-d.off) {
		d.Fail("bytes: length %d exceeds the %d bytes left", n-1, len(d.buf)-d.off)
		return nil
	}
	b := d.take(int(n-1), "bytes")
	return append(make([]byte, 0, len(b)), b...)
}

// Len reads a collection length written by Encoder.Len: -1 for nil. The length is
// checked against the remaining bytes with minElem bytes per element, so a hostile count
// cannot make the caller allocate more than the frame holds.
func (d *Decoder) Len(minElem int) int {
	n := d.Uint64()
	if d.err != nil {
		return -1
	}
	if n == 0 {
		return -1
	}
	n--
	if minElem < 1 {
		minElem = 1
	}
	if n > uint64(len(d.buf)-d.off)/uint64(minElem) {
		d.Fail("collection of %d elements exceeds the %d bytes left", n, len(d.buf)-d.off)
		return -1
	}
	need := int(n) * minElem
	if need > len(d.buf)-d.claimed {
		d.Fail("collection of %d elements exceeds the message's %d bytes together with the collections around it", n, len(d.buf))
		return -1
	}
	d.claimed += need
	return int(n)
}

// Time reads a time.Time.
func (d *Decoder) Time() time.Time {
	b := d.ByteSlice()
	if d.err != nil {
		return time.Time{}
	}
	var t time.Time
	if len(b) > 32 {
		d.Fail("time: %d bytes is too long", len(b))
		return t
	}
	if err := t.UnmarshalBinary(b); err != nil {
		d.Fail("time: %v", err)
	}
	return t
}

// Duration reads a time.Duration.
func (d *Decoder) Duration() time.Duration { return time.Duration(d.Int64()) }

// Error reads an error value written by Encoder.Error.
func (d *Decoder) Error() error {
	if d.err != nil {
		return nil
	}
	if d.off >= len(d.buf) {
		d.Fail("error: unexpected end of data")
		return nil
	}
	tag := d.buf[d.off]
	d.off++
	switch tag {
	case 0:
		return nil
	case 1:
		msg := d.String()
		name := d.String()
		if d.err != nil {
			return nil
		}
		return newRemoteError(msg, name, "")
	default:
		d.Fail("error: invalid tag %d", tag)
		return nil
	}
}

// Value reads a value through the session's Codec into the value ptr points to.
func (d *Decoder) Value(ptr any) {
	if d.err != nil {
		return
	}
	if err := codecOf(d.env).Decode(d, ptr); err != nil {
		d.SetErr(err)
	}
}
