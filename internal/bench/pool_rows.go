package bench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/pool"
)

// The pool row: pool.Map of 100,000 small tasks (square an int) over 2 worker
// processes, against CPython's multiprocessing.Pool(2).map of the same function over
// range(100000) (cpython_bench.py). Both use their default chunk size, which is the same
// rule: ceil(n / (4 × workers)) = 12,500 items per task. The pools are started and warm
// (one Map each) before the clock runs; the figure is the median of 9 Maps (15 without
// -quick), the same count on both sides.

var benchSquare = pool.Register("mgrbench.square", func(_ context.Context, x int) (int, error) { return x * x, nil })

// poolItems is how many items one Map hands the pool.
const poolItems = 100_000

func runPool(ctx context.Context, cfg *Config, r *Report) error {
	m, err := mgr.Start(ctx, mgr.Options{})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.Shutdown(sctx)
	}()
	o, err := pool.Start(ctx, m.Client(), pool.Options{Workers: 2})
	if err != nil {
		return err
	}
	defer o.Close(ctx)
	xs := make([]int, poolItems)
	for i := range xs {
		xs[i] = i
	}
	mapOnce := func() (time.Duration, error) {
		t0 := time.Now()
		got, err := pool.Map(ctx, o, benchSquare, xs)
		el := time.Since(t0)
		if err != nil {
			return 0, err
		}
		if len(got) != len(xs) || got[len(xs)-1] != (len(xs)-1)*(len(xs)-1) {
			return 0, fmt.Errorf("pool.Map returned %d items, last %d", len(got), got[len(got)-1])
		}
		return el, nil
	}
	if _, err := mapOnce(); err != nil { // warm-up: both workers running, code paged in
		return err
	}
	// The median of 9 even in -quick (both here and in cpython_bench.py): a Map takes a
	// few ms, and with 3 the median moved by 2x from run to run on a shared 2-core
	// machine, on both sides.
	times := make([]time.Duration, pick(cfg, 9, 15))
	for i := range times {
		if times[i], err = mapOnce(); err != nil {
			return err
		}
	}
	slices.Sort(times)
	med := times[len(times)/2]
	r.set("pool", "pool.map100k", "pool.Map of 100,000 squares over 2 worker processes (median Map)", poolItems/med.Seconds(), "items/s", "py.pool.map100k")
	r.set("pool", "pool.map100k.ms", "pool.Map of 100,000 squares over 2 worker processes: median time", float64(med.Microseconds())/1e3, "ms", "py.pool.map100k.ms")
	return nil
}
