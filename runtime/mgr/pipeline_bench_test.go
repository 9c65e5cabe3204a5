package mgr_test

import (
	"context"
	"testing"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// createCounterPipelined is createCounter without the wait, as generated
// CreateTPipelined functions do it.
func createCounterPipelined(ctx context.Context, c *mgr.Client, start int64) (*counterProxy, error) {
	h, err := c.CreatePipelined(ctx, counterTypeID, func(e *mgr.Encoder) { e.Int64(start) })
	if err != nil {
		return nil, err
	}
	return &counterProxy{mgr.MakeProxyBase(h)}, nil
}

// BenchmarkCreateCallRelease is mgrbench's create + Add + release row: pipelined, and with
// the create waited for. Compare with BenchmarkRoundTrip/seq from the same run.
func BenchmarkCreateCallRelease(b *testing.B) {
	ctx := context.Background()
	m, err := mgr.Start(ctx, mgr.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Shutdown(ctx)
	for _, bc := range []struct {
		name   string
		create func(context.Context, *mgr.Client, int64) (*counterProxy, error)
	}{{"pipelined", createCounterPipelined}, {"waited", createCounter}} {
		b.Run(bc.name, func(b *testing.B) { createCallRelease(b, m.Client(), bc.create) })
	}
}

// BenchmarkCreateCallReleaseInProcess is BenchmarkCreateCallRelease/pipelined with the
// manager in this process, so its allocations count the manager's side too (create,
// promise, object, reply) — StartInProcess's client still goes through a socket.
func BenchmarkCreateCallReleaseInProcess(b *testing.B) {
	m, err := mgr.StartInProcess(mgr.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	createCallRelease(b, m.Client(), createCounterPipelined)
}

// createCallRelease times create, Add and Close through c.
func createCallRelease(b *testing.B, c *mgr.Client, create func(context.Context, *mgr.Client, int64) (*counterProxy, error)) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		p, err := create(ctx, c, 1)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Add(ctx, 1); err != nil {
			b.Fatal(err)
		}
		if err := p.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
