package bench

import (
	"context"
	"strings"

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
	// Contenders from outside this module (gRPC) join the same rounds.
	for _, x := range cfg.Seq {
		section, _, _ := strings.Cut(x.Key, ".")
		op, stop, err := x.Start(ctx)
		if err != nil {
			cfg.logf("%s: %v", x.Key, err)
			r.mark(section, x.Key+".p50", x.Label+" p50", "µs", "skipped ("+err.Error()+")")
			r.mark(section, x.Key+".p99", x.Label+" p99", "µs", "skipped")
			r.mark(section, x.Key+".rate", x.Label+" calls/s", "calls/s", "skipped")
			continue
		}
		defer stop()
		cs = append(cs, &seqContender{section: section, key: x.Key, label: x.Label, op: op})
	}
	warm, n := pick(cfg, 2000, 5000), pick(cfg, 20000, 100000)
	ops := make([]func() error, len(cs))
	for i, c := range cs {
		ops[i] = c.op
	}
	lats, err := interleave(ctx, warm, n, seqBlock, ops)
	if err != nil {
		return err
	}
	for i, c := range cs {
		c.lat = lats[i]
	}
	for _, c := range cs {
		s := c.lat.summary()
		var p50, p99, rate []string
		switch c.key {
		case "floor":
		case "mgr.seq":
			p50 = []string{"floor.p50", "rpc.seq.p50", "py.seq.p50", "grpc.seq.p50"}
			p99 = []string{"floor.p99", "rpc.seq.p99", "py.seq.p99", "grpc.seq.p99"}
			rate = []string{"rpc.seq.rate", "py.seq.rate", "grpc.seq.rate"}
		default: // net/rpc and the contenders from outside
			p50, p99 = []string{"floor.p50"}, []string{"floor.p99"}
		}
		r.set(c.section, c.key+".p50", c.label+" p50", s.P50, "µs", p50...)
		r.set(c.section, c.key+".p99", c.label+" p99", s.P99, "µs", p99...)
		r.set(c.section, c.key+".rate", c.label+" calls/s", s.PerSec, "calls/s", rate...)
		r.AddDist(c.key, c.label, c.lat.sorted().quantiles())
	}
	return nil
}
