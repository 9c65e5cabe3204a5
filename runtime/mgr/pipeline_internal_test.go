package mgr

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A CallPipe naming a request that is no pipelined create of the session (never sent,
// or released) fails with ErrUnknownObject, and the session goes on.
func TestCallPipeOnNoCreate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := StartInProcess(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(ctx)
	c := m.Client()
	h, err := c.Create(ctx, "mgr_test.counter", func(e *Encoder) { e.Int64(0) })
	if err != nil {
		t.Fatal(err)
	}
	// A proxy whose create has not been answered, naming a request never sent.
	fake := &Handle{owner: c, typeID: h.typeID, sess: c.sessGen.Load(), pipe: &pipeRes{reqID: 1 << 40, done: make(chan struct{})}}
	call := fake.owner.newCall(fake, 0) // Add
	call.Args.Int64(1)
	if _, err := call.Do(ctx); !errors.Is(err, ErrUnknownObject) {
		t.Fatalf("call on no create: %v, want ErrUnknownObject", err)
	}
	call = h.owner.newCall(h, 0)
	call.Args.Int64(2)
	res, err := call.Do(ctx)
	if err != nil {
		t.Fatalf("the session after it: %v", err)
	}
	if n := res.Int64(); n != 2 {
		t.Fatalf("Add = %d, want 2", n)
	}
	if err := call.End(); err != nil {
		t.Fatal(err)
	}
}
