package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/mgr-go/mgr/internal/bench/benchobj"
)

// The sweep (run with -plot, or -only sweep): throughput by goroutines on one
// connection (mgr, net/rpc and the Par contenders: gRPC) and by client processes
// (mgr; CPython's figures come from the cpython section). Its figures go to
// Report.Series, not to the table.

var sweepGoroutines = []int{1, 2, 4, 8, 16, 32, 64}
var sweepProcs = []int{1, 2, 4}

func runSweep(ctx context.Context, cfg *Config, r *Report) error {
	d := pick(cfg, 500*time.Millisecond, 1500*time.Millisecond)
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
	contenders := []Contender{
		{Key: "mgr", Label: "mgr", Start: func(context.Context) (func() error, func(), error) {
			return func() error { _, err := p.Add(ctx0, 1); return err }, func() {}, nil
		}},
		{Key: "rpc", Label: "net/rpc", Start: func(context.Context) (func() error, func(), error) {
			c, stop, err := startRPC()
			if err != nil {
				return nil, nil, err
			}
			return func() error { var reply int; return c.Call("Counter.Add", 1, &reply) }, stop, nil
		}},
	}
	contenders = append(contenders, cfg.Par...)
	for _, x := range contenders {
		op, stop, err := x.Start(ctx)
		if err != nil {
			r.Warnings = append(r.Warnings, fmt.Sprintf("sweep: %s: %v", x.Label, err))
			continue
		}
		s := Series{Chart: "goroutines", Name: x.Label}
		for _, g := range sweepGoroutines {
			rate, err := parallel(g, d, op)
			if err != nil {
				stop()
				return fmt.Errorf("%s, %d goroutines: %w", x.Label, g, err)
			}
			s.X, s.Y = append(s.X, float64(g)), append(s.Y, round3(rate))
		}
		stop()
		r.Series = append(r.Series, s)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	s := Series{Chart: "processes", Name: "mgr"}
	for _, n := range sweepProcs {
		rate, err := runProcs(ctx, b, p, n, 1, d)
		if err != nil {
			return fmt.Errorf("mgr, %d processes: %w", n, err)
		}
		s.X, s.Y = append(s.X, float64(n)), append(s.Y, round3(rate))
	}
	r.Series = append(r.Series, s)
	py := Series{Chart: "processes", Name: "CPython"}
	for _, n := range sweepProcs {
		if v, ok := r.value(fmt.Sprintf("py.procs%d", n)); ok {
			py.X, py.Y = append(py.X, float64(n)), append(py.Y, v)
		}
	}
	if len(py.X) > 0 {
		r.Series = append(r.Series, py)
	}
	return nil
}
