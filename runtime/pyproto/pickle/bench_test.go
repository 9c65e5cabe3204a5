package pickle

import "testing"

// The manager wire's commonest messages, as CPython 3.11–3.13 write them.
var (
	// ('7f0e58319050', 'increment', (5,), {})
	benchRequest = hx("80 04 95 25 00 00 00 00 00 00 00 28 8c 0c 37 66 30 65 35 38 33 31 39 30 35 30 94 8c 09 69 6e 63 72 65 6d 65 6e 74 94 4b 05 85 94 7d 94 74 94 2e")
	// ('#ERROR', KeyError('missing'))
	benchError = hx("80 04 95 32 00 00 00 00 00 00 00 8c 06 23 45 52 52 4f 52 94 8c 08 62 75 69 6c 74 69 6e 73 94 8c 08 4b 65 79 45 72 72 6f 72 94 93 94 8c 07 6d 69 73 73 69 6e 67 94 85 94 52 94 86 94 2e")
)

// BenchmarkDecodeRequest decodes a method call and reads its four fields, as a server
// front-end does.
func BenchmarkDecodeRequest(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		v, err := Decode(benchRequest)
		if err != nil {
			b.Fatal(err)
		}
		e, err := v.(Tuple).Elems()
		if err != nil || len(e) != 4 {
			b.Fatal(err)
		}
		if _, err := e[2].(Tuple).Elems(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeError(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(benchError); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeReply encodes ('#RETURN', 5).
func BenchmarkEncodeReply(b *testing.B) {
	b.ReportAllocs()
	t := MustTuple("#RETURN", 5)
	buf := make([]byte, 0, 64)
	for b.Loop() {
		var err error
		if buf, err = AppendEncode(buf[:0], t); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeReplyBuild builds the reply each time, as a server does.
func BenchmarkEncodeReplyBuild(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 64)
	for b.Loop() {
		var err error
		if buf, err = AppendEncode(buf[:0], TupleOf{"#RETURN", map[string]any{"a": []any{1, 2.5, "x"}}}); err != nil {
			b.Fatal(err)
		}
	}
}
