package pool_test

import (
	"testing"

	"github.com/mgr-go/mgr/runtime/pool"
)

// BenchmarkMap100k is Pool.Map of 100,000 small tasks over 2 worker processes (compare
// CPython: multiprocessing.Pool(2).map(f, range(100000), chunksize=...)).
func BenchmarkMap100k(b *testing.B) {
	_, o := startPool(b, pool.Options{Workers: 2})
	xs := ints(100000)
	ctx := b.Context()
	for _, c := range []struct {
		name string
		opts []pool.CallOption
	}{{"default", nil}, {"chunk1000", []pool.CallOption{pool.Chunksize(1000)}}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := pool.Map(ctx, o, square, xs, c.opts...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
