package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/mgr-go/mgr/internal/bench/benchobj"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// runMicro measures the server-side dispatch of the generated Counter.Add (an int in, an
// int out) with testing.Benchmark, in this process: the Method.Call the manager runs for
// every call, over a pre-encoded argument frame. The same benchmark, with the codec's,
// is in runtime/mgr/bench_test.go for go test -bench.
func runMicro(ctx context.Context, cfg *Config, r *Report) error {
	desc := mgr.LookupType(benchobj.CounterTypeID)
	if desc == nil {
		return fmt.Errorf("%s is not registered", benchobj.CounterTypeID)
	}
	m := desc.Methods[desc.MethodIndex("Add")]
	obj := benchobj.NewCounter(0)
	args := mgr.NewEncoder(nil)
	args.Int64(1)
	frame := args.Bytes()
	var callErr error
	res := testing.Benchmark(func(b *testing.B) {
		dec := mgr.NewDecoder(frame)
		enc := mgr.NewEncoder(make([]byte, 0, 64))
		buf := enc.Bytes()
		b.ReportAllocs()
		for b.Loop() {
			*dec = *mgr.NewDecoder(frame)
			*enc = *mgr.NewEncoder(buf[:0])
			if err := m.Call(ctx, obj, dec, enc); err != nil {
				callErr = err
				b.FailNow()
			}
		}
	})
	if callErr != nil {
		return callErr
	}
	r.set("micro", "micro.dispatch.ns", "Method.Call Counter.Add (int → int), in process", float64(res.NsPerOp()), "ns/op")
	m2 := r.set("micro", "micro.dispatch.allocs", "Method.Call Counter.Add allocations", float64(res.AllocsPerOp()), "allocs/op")
	m2.Note = fmt.Sprintf("%d B/op", res.AllocedBytesPerOp())
	return nil
}
