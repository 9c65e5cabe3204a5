package pyclient

import (
	"context"
	"testing"

	"github.com/mgr-go/mgr/internal/pythons"
)

// BenchmarkCall: one Go client calling Value.get on a CPython manager over a Unix
// socket, sequentially (the CPython manager's own latency dominates).
func BenchmarkCall(b *testing.B) {
	py := pythons.ForTest(b)
	s := startServer(b, py[len(py)-1], "unix")
	ctx := context.Background()
	c, err := Dial(ctx, s.network, s.address, authkey, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	v, err := c.Create(ctx, "Value", "i", 3)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Call(ctx, "get"); err != nil {
			b.Fatal(err)
		}
	}
}
