package bench

import (
	"context"
	"time"
)

// interleave runs every op warm times, then times them in rounds of block calls of each,
// the order rotating every round, until each ran n times.
func interleave(ctx context.Context, warm, n, block int, ops []func() error) ([]latencies, error) {
	for _, op := range ops {
		for range warm {
			if err := op(); err != nil {
				return nil, err
			}
		}
	}
	lats := make([]latencies, len(ops))
	for i := range lats {
		lats[i] = make(latencies, 0, n)
	}
	for round := 0; len(lats[0]) < n; round++ {
		for k := range ops {
			i := (round + k) % len(ops)
			op := ops[i]
			for range min(block, n-len(lats[i])) {
				t0 := time.Now()
				if err := op(); err != nil {
					return nil, err
				}
				lats[i] = append(lats[i], time.Since(t0))
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return lats, nil
}

// distPoints is how many quantiles a distribution keeps: the i/(distPoints-1) quantile
// for each i, like cpython_bench.py's.
const distPoints = 1001

// quantiles returns the distribution of a sorted sample in µs (see distPoints).
func (l latencies) quantiles() []float64 {
	if len(l) == 0 {
		return nil
	}
	q := make([]float64, distPoints)
	for i := range q {
		q[i] = round3(l.pct(float64(i) / (distPoints - 1)))
	}
	return q
}
