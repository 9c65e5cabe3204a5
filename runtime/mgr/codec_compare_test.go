package mgr_test

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"testing"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// The codec choice (README, "Codec"): each benchmark encodes and decodes one message as a
// call would — an int argument, and a small struct — with the candidates in the standard
// library. Run: go test -run '^$' -bench CodecCompare -benchmem ./runtime/mgr

var compareStruct = inner{Name: "worker-7", Tags: []string{"a", "b"}, Score: 0.75}

func BenchmarkCodecCompareIntDirect(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for i := range b.N {
		e := mgr.NewEncoder(buf[:0])
		e.Int64(int64(i))
		d := mgr.NewDecoder(e.Bytes())
		if d.Int64() != int64(i) || d.Done() != nil {
			b.Fatal("mismatch")
		}
	}
}

func BenchmarkCodecCompareIntJSON(b *testing.B) {
	b.ReportAllocs()
	for i := range b.N {
		data, _ := json.Marshal(i)
		var v int
		if json.Unmarshal(data, &v) != nil || v != i {
			b.Fatal("mismatch")
		}
	}
}

func BenchmarkCodecCompareStructBinary(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		in := compareStruct
		e := mgr.NewEncoder(nil)
		e.Value(&in)
		var out inner
		d := mgr.NewDecoder(e.Bytes())
		d.Value(&out)
		if d.Done() != nil || out.Name != in.Name {
			b.Fatal("mismatch")
		}
	}
}

func BenchmarkCodecCompareStructGob(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		// A message stands alone (calls are independent and may be cancelled), so each
		// carries gob's type description: that is what gob costs per call.
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(compareStruct); err != nil {
			b.Fatal(err)
		}
		var out inner
		if err := gob.NewDecoder(&buf).Decode(&out); err != nil || out.Name != compareStruct.Name {
			b.Fatal("mismatch", err)
		}
	}
}

func BenchmarkCodecCompareStructJSON(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		data, _ := json.Marshal(compareStruct)
		var out inner
		if err := json.Unmarshal(data, &out); err != nil || out.Name != compareStruct.Name {
			b.Fatal("mismatch", err)
		}
	}
}
