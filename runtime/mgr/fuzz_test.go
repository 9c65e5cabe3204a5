package mgr_test

import (
	"context"
	"errors"
	"net"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// Fuzz targets for what an authenticated peer can send: values for the codec, and whole
// frames for the manager. Seeds are added here and checked in under testdata/fuzz/.

// fuzzInner exercises every kind the BinaryCodec carries, recursively.
type fuzzInner struct {
	A int8
	B string
	C []uint16
	D map[string]float64
	E *fuzzInner
	F any
	G [3]bool
	H time.Time
	I error
	J []byte
	K complex128
	L float32
	M time.Duration
	N []any
}

type fuzzKey struct {
	X int
	Y string
}

// fuzzBig, fuzzChain and fuzzAnyChain are targets whose memory is large next to their
// shortest encoding: a pointer or interface target allocated before its bytes are there
// cost 16 MiB for 2 input bytes, and a chain of them allocated once per nesting level.
type fuzzBig [16 << 20]byte

type fuzzChain struct {
	Next *fuzzChain
	Pad  [1 << 10]int64
}

type fuzzAnyChain struct {
	Next any
	Pad  [1 << 11]int64
}

func init() {
	mgr.RegisterValue[fuzzInner]()
	mgr.RegisterValue[fuzzBig]()
	mgr.RegisterValue[fuzzAnyChain]()
}

// decodeTargets are the types FuzzDecode decodes into, chosen by the input.
var decodeTargets = []func() any{
	func() any { return new(int64) },
	func() any { return new(string) },
	func() any { return new([]byte) },
	func() any { return new([]int64) },
	func() any { return new([]string) },
	func() any { return new(map[string]any) },
	func() any { return new([]any) },
	func() any { return new(any) },
	func() any { return new(fuzzInner) },
	func() any { return new([]fuzzInner) },
	func() any { return new(map[int32][]string) },
	func() any { return new(*fuzzInner) },
	func() any { return new([4]uint8) },
	func() any { return new([]map[string][]any) },
	func() any { return new(time.Time) },
	func() any { return new(error) },
	func() any { return new([][]float64) },
	func() any { return new(map[fuzzKey]fuzzInner) },
	func() any { return new([]*fuzzInner) },
	func() any { return new([]struct{}) },
	func() any { return new([][2]complex64) },
	func() any { return new([]struct{ X [64]int64 }) },
	func() any { return new(*[16 << 20]byte) },
	func() any { return new(*fuzzChain) },
	func() any { return new([]*[1 << 14]int32) },
}

// heapAllocs returns the bytes allocated so far; ReadMemStats flushes the per-P caches,
// so a difference of two readings is exact while nothing else allocates.
func heapAllocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// decodeAllocFactor bounds the bytes the decoder may allocate per input byte. The
// densest legitimate values take about 24 bytes of memory per wire byte (an empty slice
// inside a slice: one length byte, a 24-byte header); a map entry with two one-byte
// values takes ~40 bytes for two. 64 leaves room and still catches any amplification by
// nesting depth (a nested []any chain once reached ~1000 bytes per byte).
const decodeAllocFactor = 64

// countElems counts the elements of every slice and map reachable from v (arrays are part
// of the static type and not counted).
func countElems(v reflect.Value, depth int) int {
	if depth > 200 {
		return 0
	}
	switch v.Kind() {
	case reflect.Slice:
		n := v.Len()
		for i := range v.Len() {
			n += countElems(v.Index(i), depth+1)
		}
		return n
	case reflect.Array:
		n := 0
		for i := range v.Len() {
			n += countElems(v.Index(i), depth+1)
		}
		return n
	case reflect.Map:
		n := v.Len()
		it := v.MapRange()
		for it.Next() {
			n += countElems(it.Key(), depth+1) + countElems(it.Value(), depth+1)
		}
		return n
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return 0
		}
		return countElems(v.Elem(), depth+1)
	case reflect.Struct:
		n := 0
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				n += countElems(v.Field(i), depth+1)
			}
		}
		return n
	}
	return 0
}

func encodeSeed(tb testing.TB, v any) []byte {
	e := mgr.NewEncoder(nil)
	if err := (mgr.BinaryCodec{}).Encode(e, v); err != nil {
		tb.Fatal(err)
	}
	return e.Bytes()
}

// nestedChain is the hostile message that made the decoder allocate per nesting level:
// a collection whose first element is a collection, and so on, each claiming as its
// length every byte left. With tagged, the levels below the top are interface values
// (tagSlice, then a []any); withTop, the top level is one too (target any).
func nestedChain(depth, size int, tagged, withTop bool) []byte {
	const tagSlice = 17
	var b []byte
	for k := range depth {
		if tagged && (k > 0 || withTop) {
			b = append(b, tagSlice)
		}
		e := mgr.NewEncoder(b)
		e.Len(size - len(b) - 16)
		b = e.Bytes()
	}
	for len(b) < size {
		b = append(b, 0) // nil interfaces, or zero int8s
	}
	return b
}

func FuzzDecode(f *testing.F) {
	now := time.Date(2024, 5, 6, 7, 8, 9, 10, time.FixedZone("X", 3600))
	inner := fuzzInner{A: -3, B: "b", C: []uint16{1, 500}, D: map[string]float64{"pi": 3.14},
		E: &fuzzInner{B: "nested", F: []any{int64(1), "two", nil}}, F: map[string]any{"k": 1.5},
		G: [3]bool{true, false, true}, H: now, I: errors.New("boom"), J: []byte{}, K: 1 + 2i,
		L: 0.5, M: time.Second, N: []any{fuzzInner{B: "registered"}}}
	seeds := []any{
		new(int64), ptr("hello"), ptr([]byte("bytes")), ptr([]int64{1, -1, 1 << 40}), ptr([]string{"a", ""}),
		ptr(map[string]any{"a": int64(1), "b": []any{"x", 2.5, true}, "c": map[string]any{}}),
		ptr([]any{nil, int8(1), uint32(7), now, []byte{1}, time.Minute}), ptr(any(int64(5))), &inner,
		ptr([]fuzzInner{inner, {}}), ptr(map[int32][]string{1: {"x"}, -2: nil}), ptr(&inner), ptr([4]uint8{1, 2, 3, 4}),
		ptr([]map[string][]any{{"q": {int64(1)}}}), ptr(now), ptr(errors.New("e")), ptr([][]float64{{1}, nil, {}}),
		ptr(map[fuzzKey]fuzzInner{{1, "a"}: {B: "v"}}), ptr([]*fuzzInner{nil, &inner}), ptr(make([]struct{}, 3)),
		ptr([][2]complex64{{1, 2i}}), ptr([]struct{ X [64]int64 }{{}}),
	}
	for i, v := range seeds {
		f.Add(encodeSeed(f, v), uint8(i), []byte(nil))
	}
	f.Add(nestedChain(40, 512, true, false), uint8(6), []byte(nil))
	f.Add(nestedChain(40, 512, true, true), uint8(7), []byte(nil))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, uint8(21), []byte(nil)) // 4G structs claimed
	f.Add(encodeSeed(f, &inner), uint8(200), []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, uint8(200), []byte{1, 2, 9, 10, 11})
	for _, h := range hugeTargets(f) {
		f.Add(h.data, h.sel, []byte(nil))
	}

	f.Fuzz(func(t *testing.T, data []byte, sel uint8, ops []byte) {
		before := heapAllocs()
		var result any
		d := mgr.NewDecoder(data)
		if int(sel) < len(decodeTargets) {
			result = decodeTargets[sel]()
			if err := (mgr.BinaryCodec{}).Decode(d, result); err != nil {
				if !errors.Is(err, mgr.ErrDecode) {
					t.Fatalf("decode error %v does not wrap ErrDecode", err)
				}
			}
		} else {
			// Drive the Decoder's methods directly, as generated code does.
			if len(ops) > 64 {
				ops = ops[:64]
			}
			var sink []any
			for _, op := range ops {
				switch op % 18 {
				case 0:
					sink = append(sink, d.Bool())
				case 1:
					sink = append(sink, d.Int64())
				case 2:
					sink = append(sink, d.Uint64())
				case 3:
					sink = append(sink, d.IntN(8<<(op%4)))
				case 4:
					sink = append(sink, d.UintN(8<<(op%4)))
				case 5:
					sink = append(sink, d.Int())
				case 6:
					sink = append(sink, d.Float64())
				case 7:
					sink = append(sink, d.Float32())
				case 8:
					sink = append(sink, d.Complex128())
				case 9:
					sink = append(sink, d.String())
				case 10:
					sink = append(sink, d.ByteSlice())
				case 11:
					n := d.Len(int(op%9) + 1)
					if n > d.Remaining()+1 {
						t.Fatalf("Len returned %d with %d bytes left", n, d.Remaining())
					}
				case 12:
					sink = append(sink, d.Time())
				case 13:
					sink = append(sink, d.Duration())
				case 14:
					sink = append(sink, d.Error())
				case 15:
					var v any
					d.Value(&v)
					sink = append(sink, v)
				case 16:
					var v fuzzInner
					d.Value(&v)
					sink = append(sink, v)
				case 17:
					_ = d.Done()
				}
			}
			result = sink
			if err := d.Err(); err != nil && !errors.Is(err, mgr.ErrDecode) {
				t.Fatalf("decode error %v does not wrap ErrDecode", err)
			}
		}
		got := heapAllocs() - before
		if n := countElems(reflect.ValueOf(result), 0); int(sel) < len(decodeTargets) && n > len(data) {
			t.Fatalf("%d input bytes decoded into %d collection elements", len(data), n)
		}
		// In op mode the harness itself boxes each result into sink: allow for it.
		boxing := 0
		if int(sel) >= len(decodeTargets) {
			boxing = 512 * len(ops)
		}
		if limit := uint64(decodeAllocFactor*len(data) + 16<<10 + boxing); got > limit {
			t.Fatalf("decoding %d bytes (target %d) allocated %d bytes, limit %d", len(data), sel, got, limit)
		}
		// Whatever decoded cleanly encodes again.
		if int(sel) < len(decodeTargets) && d.Done() == nil {
			// (A time whose zone offset MarshalBinary cannot write is the one exception.)
			if err := (mgr.BinaryCodec{}).Encode(mgr.NewEncoder(nil), result); err != nil && !strings.Contains(err.Error(), "time") {
				t.Fatalf("re-encoding a decoded value: %v", err)
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }

// TestDecodeNestedCollectionsAllocateLinearly pins the fix for nesting amplification: each
// level of a nested []any used to check its length only against the bytes left, so 64
// levels could each allocate for the whole message.
func TestDecodeNestedCollectionsAllocateLinearly(t *testing.T) {
	const size = 1 << 20
	for _, tc := range []struct {
		target          any
		depth           int
		tagged, withTop bool
	}{
		{new([]any), 60, true, false},
		{new(any), 60, true, true},
		{new([][][][][][][][]int8), 8, false, false},
	} {
		target := tc.target
		data := nestedChain(tc.depth, size, tc.tagged, tc.withTop)
		before := heapAllocs()
		err := (mgr.BinaryCodec{}).Decode(mgr.NewDecoder(data), target)
		got := heapAllocs() - before
		if err == nil {
			t.Fatalf("%T: hostile chain decoded", target)
		}
		t.Logf("%T: %d-byte hostile chain: %v; allocated %d bytes", target, len(data), err, got)
		if got > decodeAllocFactor*size {
			t.Fatalf("%T: allocated %d bytes for %d input bytes", target, got, size)
		}
	}
	// A slice of large structs claims what its elements need at least.
	e := mgr.NewEncoder(nil)
	e.Len(1 << 20)
	data := append(e.Bytes(), make([]byte, 1<<20)...)
	before := heapAllocs()
	var big []struct{ X [512]int64 }
	err := (mgr.BinaryCodec{}).Decode(mgr.NewDecoder(data), &big)
	if got := heapAllocs() - before; err == nil || got > decodeAllocFactor*uint64(len(data)) {
		t.Fatalf("1M structs of 4 KiB claimed in 1 MiB: err %v, allocated %d", err, got)
	}
	// Legitimate nesting still decodes.
	v := []any{[]any{[]any{"deep", int64(1)}, map[string]any{"k": []any{nil}}}, "x"}
	var out []any
	if err := (mgr.BinaryCodec{}).Decode(mgr.NewDecoder(encodeSeed(t, &v)), &out); err != nil || !reflect.DeepEqual(out, v) {
		t.Fatalf("nested value: %v, %#v", err, out)
	}
}

// A hugeTarget is a short input naming a target whose memory dwarfs the input.
type hugeTarget struct {
	what   string
	sel    uint8 // the decodeTargets index
	target func() any
	data   []byte
}

// hugeTargets are inputs that made the decoder allocate a pointer's or an interface's
// target before checking that the input could hold it: 2 bytes into a *[16<<20]byte,
// a registered 16 MiB type named behind an any, and chains of pointers and interfaces
// whose every level allocated its target against the same remaining bytes.
func hugeTargets(tb testing.TB) []hugeTarget {
	const tagNamed = 19
	named := func(b []byte, v any) []byte {
		e := mgr.NewEncoder(append(b, tagNamed))
		e.String(reflect.TypeOf(v).PkgPath() + "." + reflect.TypeOf(v).Name())
		return e.Bytes()
	}
	sel := func(v any) uint8 {
		for i, mk := range decodeTargets {
			if reflect.TypeOf(mk()) == reflect.TypeOf(v) {
				return uint8(i)
			}
		}
		tb.Fatalf("%T is not among decodeTargets", v)
		return 0
	}
	// *fuzzChain: field count 2, then a non-nil Next, level after level, then zeros.
	var chain []byte
	for range 40 {
		chain = append(chain, 1, 2)
	}
	chain = append(chain, make([]byte, 2<<10)...)
	// any holding fuzzAnyChain: tag and name, field count, Next, level after level.
	var anyChain []byte
	for range 40 {
		anyChain = append(named(anyChain, fuzzAnyChain{}), 2)
	}
	anyChain = append(anyChain, make([]byte, 3<<10)...)
	// The same with every named value in the sized form (tag, name, length, value),
	// which is what encoders write now: the length must not let a target skip its claim.
	const tagNamedSized = 22
	sized := func(v any, body []byte) []byte {
		e := mgr.NewEncoder([]byte{tagNamedSized})
		e.String(reflect.TypeOf(v).PkgPath() + "." + reflect.TypeOf(v).Name())
		e.Uint64(uint64(len(body)))
		return append(e.Bytes(), body...)
	}
	sizedChain := make([]byte, 3<<10)
	for range 40 {
		sizedChain = sized(fuzzAnyChain{}, append([]byte{2}, sizedChain...))
	}
	// []*[1<<14]int32: one element, non-nil, one byte of its 16,384.
	e := mgr.NewEncoder(nil)
	e.Len(1)
	slice := append(e.Bytes(), 1, 0)
	return []hugeTarget{
		{"*[16<<20]byte", sel(new(*[16 << 20]byte)), func() any { return new(*[16 << 20]byte) }, []byte{1, 0}},
		{"registered [16<<20]byte in an any", sel(new(any)), func() any { return new(any) }, append(named(nil, fuzzBig{}), 0)},
		{"chain of pointers", sel(new(*fuzzChain)), func() any { return new(*fuzzChain) }, chain},
		{"chain of interfaces", sel(new(any)), func() any { return new(any) }, anyChain},
		{"registered [16<<20]byte in an any, sized", sel(new(any)), func() any { return new(any) }, sized(fuzzBig{}, []byte{0})},
		{"chain of interfaces, sized", sel(new(any)), func() any { return new(any) }, sizedChain},
		{"slice of pointers to arrays", sel(new([]*[1 << 14]int32)), func() any { return new([]*[1 << 14]int32) }, slice},
	}
}

// TestDecodeTargetsAllocateLinearly pins the bound for pointer and interface targets:
// a target is allocated only once the input can hold its shortest encoding, and that
// encoding is claimed like a collection's elements, so nesting cannot reuse the bytes.
func TestDecodeTargetsAllocateLinearly(t *testing.T) {
	for _, h := range hugeTargets(t) {
		target := h.target()
		before := heapAllocs()
		err := (mgr.BinaryCodec{}).Decode(mgr.NewDecoder(h.data), target)
		got := heapAllocs() - before
		if !errors.Is(err, mgr.ErrDecode) {
			t.Errorf("%s: %d bytes decoded with %v, want ErrDecode", h.what, len(h.data), err)
		}
		if limit := uint64(decodeAllocFactor*len(h.data) + 16<<10); got > limit {
			t.Errorf("%s: decoding %d bytes allocated %d bytes, limit %d", h.what, len(h.data), got, limit)
		}
	}
	// Legitimate values of those types still decode.
	for _, v := range []any{
		ptr(&fuzzChain{Next: &fuzzChain{Pad: [1 << 10]int64{7}}}),
		ptr(any(fuzzAnyChain{Next: fuzzAnyChain{Next: fuzzInner{B: "x"}}})),
		ptr([]*[1 << 14]int32{nil, {1, 2}}),
	} {
		out := reflect.New(reflect.TypeOf(v).Elem())
		if err := (mgr.BinaryCodec{}).Decode(mgr.NewDecoder(encodeSeed(t, v)), out.Interface()); err != nil || !reflect.DeepEqual(out.Interface(), v) {
			t.Errorf("%T: %v", v, err)
		}
	}
}

// frameOf finishes a frame whose payload follows a reserved header.
func frameOf(payload []byte) []byte {
	b := make([]byte, wire.HeaderSize, wire.HeaderSize+len(payload))
	b = append(b, payload...)
	wire.PutHeader(b, len(payload))
	return b
}

// callPayload builds a Call message.
func callPayload(reqID, obj, method, timeout uint64, args func(e *mgr.Encoder)) []byte {
	e := mgr.NewEncoder([]byte{wire.KindCall})
	e.Uint64(reqID)
	e.Uint64(obj)
	e.Uint64(method)
	e.Uint64(timeout)
	if args != nil {
		args(e)
	}
	return e.Bytes()
}

// fuzzStream turns fuzz input into the bytes written after the handshake: either a
// sequence of [length byte][payload] chunks made into well-formed frames (so the input
// reaches message handling), or, after a leading 0xFF, raw bytes (so framing itself is
// fuzzed too). Calls of the manager's Shutdown are dropped: a peer with the key may shut
// the manager down, which is allowed and would end the target.
func fuzzStream(data []byte) []byte {
	if len(data) > 0 && data[0] == 0xFF {
		return data[1:]
	}
	var out []byte
	for len(data) > 0 {
		n := int(data[0])
		data = data[1:]
		n = min(n, len(data))
		p := data[:n]
		data = data[n:]
		if len(p) > 0 && (p[0] == wire.KindCall || p[0] == wire.KindCallMeta) { // the same header up to the method
			d := mgr.NewDecoder(p[1:])
			d.Uint64()
			obj, method := d.Uint64(), d.Uint64()
			if d.Err() == nil && obj == wire.ControlObject && method == wire.CtlShutdown {
				continue
			}
		}
		out = append(out, frameOf(p)...)
	}
	return out
}

// countCalls counts the Call frames in a stream of well-formed frames.
func countCalls(stream []byte) int {
	n := 0
	for len(stream) >= wire.HeaderSize {
		l := int(uint32(stream[0])<<24 | uint32(stream[1])<<16 | uint32(stream[2])<<8 | uint32(stream[3]))
		if l < 0 || l > len(stream)-wire.HeaderSize {
			break
		}
		if k := stream[wire.HeaderSize]; l > 0 && (k == wire.KindCall || k == wire.KindCallPipe) {
			n++
		}
		stream = stream[wire.HeaderSize+l:]
	}
	return n
}

// readReplies reads what the manager sends until it has answered the final ping and
// every call, or closed the session. Calls that block (until the session ends) never
// answer: after the pong, a short quiet spell ends the wait. That spell only decides how
// much of the input runs before the session ends, never whether the target passes.
func readReplies(t *testing.T, conn net.Conn, r *wire.Reader, calls int) {
	t.Helper()
	pong := false
	for !pong || calls > 0 {
		if pong {
			conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		} else {
			// Under the fuzzer's 10 s limit for one input, so a hang is reported here.
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		}
		fr, err := r.Next()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !pong {
				t.Fatalf("manager neither answered the ping nor closed the session: %v", err)
			}
			return // the session ended (a protocol error), or only blocked calls are left
		}
		switch {
		case len(fr) == 1 && fr[0] == wire.KindPong:
			pong = true
		case len(fr) > 0 && (fr[0] == wire.KindReply || fr[0] == wire.KindError):
			calls--
		}
	}
}

// fuzzChunks joins payloads in fuzzStream's chunk format.
func fuzzChunks(payloads ...[]byte) []byte {
	var b []byte
	for _, p := range payloads {
		b = append(b, byte(len(p)))
		b = append(b, p...)
	}
	return b
}

func FuzzServerFrames(f *testing.F) {
	// No resume window: a fuzzed session that breaks off without saying goodbye would
	// otherwise be kept 10 s for its client (alive: this process) to come back — the
	// fuzzer's own hang limit — before the check below sees it gone. Resuming has
	// FuzzResumeHandshake.
	m, err := mgr.StartInProcess(mgr.Options{TokenTTL: 20 * time.Millisecond, MaxFrame: 1 << 20, ResumeWindow: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { m.Shutdown(context.Background()) })
	srv := m.Server()
	if err := srv.AddNamed("fuzz-named", counterTypeID, &counter{started: make(chan struct{})}); err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	good, err := createCounter(ctx, m.Client(), 1)
	if err != nil {
		f.Fatal(err)
	}
	baseObjects, baseSessions := srv.NumObjects(), srv.NumSessions()

	str := func(s string) func(*mgr.Encoder) { return func(e *mgr.Encoder) { e.String(s) } }
	create := callPayload(1, 0, wire.CtlCreate, 0, func(e *mgr.Encoder) { e.String(counterTypeID); e.Int64(3) })
	f.Add(fuzzChunks(callPayload(1, 0, wire.CtlHello, 0, func(e *mgr.Encoder) { e.Int64(1); e.String("fuzz") })))
	f.Add(fuzzChunks(create, callPayload(2, 2, mAdd, 0, func(e *mgr.Encoder) { e.Int64(1) }), callPayload(3, 2, mGet, 0, nil)))
	f.Add(fuzzChunks(create, callPayload(2, 3, mBlock, 1e6, nil), []byte{wire.KindCancel, 2}))
	f.Add(fuzzChunks(create, callPayload(2, 3, mBlock, 0, nil), []byte{wire.KindPing}))
	f.Add(fuzzChunks(create, callPayload(2, 0, wire.CtlToken, 0, func(e *mgr.Encoder) { e.Uint64(3) }),
		callPayload(3, 0, wire.CtlRelease, 0, func(e *mgr.Encoder) { e.Uint64(3) })))
	f.Add(fuzzChunks(callPayload(1, 0, wire.CtlAttach, 0, func(e *mgr.Encoder) { e.Uint64(1); e.ByteSlice(make([]byte, 16)) })))
	f.Add(fuzzChunks(callPayload(1, 0, wire.CtlLookup, 0, str("fuzz-named")), callPayload(2, 1, mAdd, 0, func(e *mgr.Encoder) { e.Int64(1) })))
	f.Add(fuzzChunks(callPayload(1, 0, wire.CtlInfo, 0, nil), callPayload(2, 0, 99, 0, nil)))
	f.Add(fuzzChunks(callPayload(1, 2, mPanic, 0, nil), callPayload(1, 2, 77, 0, nil), callPayload(1, 1<<60, 0, 0, nil)))
	f.Add(fuzzChunks(callPayload(1, 0, wire.CtlCreate, 0, str("no.such.Type")), []byte{}, []byte{42}))
	f.Add(fuzzChunks([]byte{wire.KindCall, 0x80}, []byte{wire.KindCancel}, []byte{wire.KindReply, 1}))
	f.Add(fuzzChunks([]byte{wire.KindCallMeta, 1, 1, 0, 0, 3, 'a', 'b'}, []byte{wire.KindCallMeta, 2, 1, 0, 0, 0x7f}))
	// Pipelining: a create, calls on its result (one naming no create), a release of it.
	pcreate := callPayload(1, 0, wire.CtlCreatePipe, 0, func(e *mgr.Encoder) { e.String(counterTypeID); e.Int64(3) })
	pipeCall := func(reqID, of, method uint64, args func(*mgr.Encoder)) []byte {
		p := callPayload(reqID, of, method, 0, args)
		p[0] = wire.KindCallPipe
		return p
	}
	f.Add(fuzzChunks(pcreate, pipeCall(2, 1, mAdd, func(e *mgr.Encoder) { e.Int64(1) }), pipeCall(3, 9, mGet, nil),
		callPayload(4, 0, wire.CtlReleaseN, 0, func(e *mgr.Encoder) { e.Uint64(0); e.Uint64(1); e.Uint64(1) }), pipeCall(5, 1, mGet, nil)))
	f.Add(fuzzChunks(callPayload(1, 0, wire.CtlCreatePipe, 0, str("no.such.Type")), pipeCall(2, 1, mAdd, nil),
		[]byte{wire.KindCallPipeMeta, 3, 1, 0, 0, 0}, pipeCall(4, 1, mBlock, nil), []byte{wire.KindCancel, 4}))
	f.Add(append([]byte{0xFF}, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3))
	f.Add(append([]byte{0xFF}, 0, 0, 0, 1, wire.KindPing, 0, 0))

	f.Fuzz(func(t *testing.T, data []byte) {
		conn, r := rawSession(t, m)
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		stream := append(fuzzStream(data), frameOf([]byte{wire.KindPing})...)
		calls := countCalls(stream)
		// Write while reading: replies must not back up behind our writes.
		werr := make(chan error, 1)
		raw := len(data) > 0 && data[0] == 0xFF
		go func() {
			_, err := conn.Write(stream)
			if raw {
				// Raw bytes may end inside a frame, which the manager rightly waits
				// for; end the stream so it sees the truncation.
				conn.(*net.UnixConn).CloseWrite()
			}
			werr <- err
		}()
		readReplies(t, conn, r, calls)
		conn.Close()
		<-werr
		// The session's end drops everything it held, and the manager keeps serving.
		deadline := time.Now().Add(10 * time.Second)
		for srv.NumSessions() != baseSessions || srv.NumObjects() != baseObjects {
			if time.Now().After(deadline) {
				t.Fatalf("after the session: %d sessions, %d objects; want %d, %d\n%+v",
					srv.NumSessions(), srv.NumObjects(), baseSessions, baseObjects, srv.Info())
			}
			time.Sleep(200 * time.Microsecond)
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := good.Get(cctx); err != nil {
			t.Fatalf("well-behaved client after the fuzzed session: %v", err)
		}
	})
}
