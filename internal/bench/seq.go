package bench

import (
	"context"
	"time"

	"github.com/mgr-go/mgr/internal/bench/benchobj"
)

// The sequential rows — the raw ping-pong floor, net/rpc's Add and mgr's Add — are
// measured interleaved: rounds of seqBlock calls of each, the order rotating every round,
// so the three see the same machine. This machine is shared and noisy; measured one
// after the other, the floor alone moved between 26 and 134 µs from one run to the next,
// and the ratios with it.

// seqBlock is how many calls of one contender run back to back in a round.
const seqBlock = 500

type seqContender struct {
	section, key, label string // key prefix: "floor" or "rpc.seq" or "mgr.seq"
	op                  func() error
	lat                 latencies
}

func runSeq(ctx context.Context, cfg *Config, r *Report) error {
	floorOp, stopFloor, err := startFloor()
	if err != nil {
		return err
	}
	defer stopFloor()
	rc, stopRPC, err := startRPC()
	if err != nil {
		return err
	}
	defer stopRPC()
	b, err := startManager(ctx)
	if err != nil {
		return err
	}
	defer b.shutdown()
	p, err := benchobj.CreateCounter(ctx, b.c, 0)
	if err != nil {
		return err
	}
	defer p.Close(ctx)

	ctx0 := context.Background()
	cs := []*seqContender{
		{section: "floor", key: "floor", label: "raw Unix-socket 16 B ping-pong", op: floorOp},
		{section: "rpc", key: "rpc.seq", label: "net/rpc sequential Add", op: func() error {
			var reply int
			return rc.Call("Counter.Add", 1, &reply)
		}},
		{section: "mgr", key: "mgr.seq", label: "mgr sequential Add", op: func() error {
			_, err := p.Add(ctx0, 1)
			return err
		}},
	}
	warm, n := pick(cfg, 2000, 5000), pick(cfg, 20000, 100000)
	for _, c := range cs {
		for range warm {
			if err := c.op(); err != nil {
				return err
			}
		}
		c.lat = make(latencies, 0, n)
	}
	for round := 0; len(cs[0].lat) < n; round++ {
		for k := range cs {
			c := cs[(round+k)%len(cs)]
			for range min(seqBlock, n-len(c.lat)) {
				t0 := time.Now()
				if err := c.op(); err != nil {
					return err
				}
				c.lat = append(c.lat, time.Since(t0))
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	for _, c := range cs {
		s := c.lat.summary()
		var p50, p99, rate []string
		switch c.key {
		case "rpc.seq":
			p50, p99 = []string{"floor.p50"}, []string{"floor.p99"}
		case "mgr.seq":
			p50 = []string{"floor.p50", "rpc.seq.p50", "py.seq.p50"}
			p99 = []string{"floor.p99", "rpc.seq.p99", "py.seq.p99"}
			rate = []string{"rpc.seq.rate", "py.seq.rate"}
		}
		r.set(c.section, c.key+".p50", c.label+" p50", s.P50, "µs", p50...)
		r.set(c.section, c.key+".p99", c.label+" p99", s.P99, "µs", p99...)
		r.set(c.section, c.key+".rate", c.label+" calls/s", s.PerSec, "calls/s", rate...)
	}
	return nil
}
