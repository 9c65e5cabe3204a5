package bench

import (
	"slices"
	"time"
)

// latencies collects per-operation durations.
type latencies []time.Duration

func (l latencies) sorted() latencies {
	s := slices.Clone(l)
	slices.Sort(s)
	return s
}

// pct returns the q-quantile (0..1) of a sorted sample, in microseconds.
func (l latencies) pct(q float64) float64 {
	if len(l) == 0 {
		return 0
	}
	i := int(q * float64(len(l)-1))
	return float64(l[i]) / 1e3
}

// summary of a sequential latency run.
type latSummary struct {
	P50, P99 float64 // µs
	PerSec   float64 // operations per second over the whole run
	N        int
}

func summarize(l latencies, total time.Duration) latSummary {
	s := l.sorted()
	return latSummary{P50: s.pct(0.50), P99: s.pct(0.99), PerSec: float64(len(l)) / total.Seconds(), N: len(l)}
}

// summary summarizes latencies measured in pieces; the rate is over their sum.
func (l latencies) summary() latSummary {
	var total time.Duration
	for _, d := range l {
		total += d
	}
	return summarize(l, total)
}

// timeSeq runs op warm times, then n times, timing each.
func timeSeq(warm, n int, op func() error) (latSummary, error) {
	for range warm {
		if err := op(); err != nil {
			return latSummary{}, err
		}
	}
	l := make(latencies, n)
	start := time.Now()
	for i := range n {
		t0 := time.Now()
		if err := op(); err != nil {
			return latSummary{}, err
		}
		l[i] = time.Since(t0)
	}
	return summarize(l, time.Since(start)), nil
}
