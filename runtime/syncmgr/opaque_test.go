package syncmgr_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// managerOnly is registered with mgr.RegisterValue by the manager child alone (in the
// initializer below), never by the test process that reads it.
type managerOnly struct {
	N int
	S string
}

var managerOnlyItem = managerOnly{N: 7, S: "only the manager knows me"}

func init() {
	mgr.RegisterInitializer("syncmgr-test-manager-only-value", func(s *mgr.Server) error {
		mgr.RegisterValue[managerOnly]()
		ctx := context.Background()
		in, out := syncmgr.NewQueue[any](0), syncmgr.NewQueue[any](0)
		verdict := syncmgr.NewQueue[string](0)
		if err := in.Put(ctx, managerOnlyItem); err != nil {
			return err
		}
		if err := in.Put(ctx, "after it"); err != nil {
			return err
		}
		// What a client puts back on out must reach the manager as the managerOnly it
		// was, not as something else.
		go func() {
			v, err := out.Get(ctx)
			if got, ok := v.(managerOnly); ok && err == nil && got == managerOnlyItem {
				verdict.Put(ctx, "the manager got its managerOnly back")
				return
			}
			verdict.Put(ctx, fmt.Sprintf("the manager got %T %#v (%v)", v, v, err))
		}()
		for name, q := range map[string]any{"in": in, "out": out} {
			if err := s.AddNamed(name, syncmgr.QueueTypeID[any](), q); err != nil {
				return err
			}
		}
		return s.AddNamed("verdict", syncmgr.QueueTypeID[string](), verdict)
	})
}

// TestValueTypeOnlyTheManagerKnows: a child-process manager holds, in a Queue[any], a
// value of a type registered there and not in this client. The client's Get gets it as
// an mgr.OpaqueValue naming the type — not a decode error after the manager gave the
// item up — and the next item after it; putting the OpaqueValue on another queue hands
// the manager back the very value it had.
func TestValueTypeOnlyTheManagerKnows(t *testing.T) {
	ctx := testCtx(t)
	m, err := syncmgr.Start(ctx, mgr.Options{Initializer: "syncmgr-test-manager-only-value"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	c := m.Client()
	in := must[*syncmgr.QueueProxy[any]](t)(syncmgr.LookupQueue[any](ctx, c, "in"))
	out := must[*syncmgr.QueueProxy[any]](t)(syncmgr.LookupQueue[any](ctx, c, "out"))
	verdict := must[*syncmgr.QueueProxy[string]](t)(syncmgr.LookupQueue[string](ctx, c, "verdict"))
	v, err := in.GetNowait(ctx)
	if err != nil {
		t.Fatalf("Get of a value of a type this process lacks: %v", err)
	}
	o, ok := v.(mgr.OpaqueValue)
	if !ok || o.Type != "github.com/mgr-go/mgr/runtime/syncmgr_test.managerOnly" || len(o.Data) == 0 {
		t.Fatalf("Get = %#v, want an mgr.OpaqueValue of syncmgr_test.managerOnly", v)
	}
	if next, err := in.GetNowait(ctx); err != nil || next != "after it" {
		t.Fatalf("the item after it: %v, %v", next, err)
	}
	// A concrete type that does not fit is refused before any item moves.
	if _, err := syncmgr.LookupQueue[int](ctx, c, "out"); !errors.Is(err, mgr.ErrWrongType) {
		t.Fatalf("LookupQueue[int] on a Queue[any]: %v, want ErrWrongType", err)
	}
	if err := out.Put(ctx, o); err != nil {
		t.Fatalf("putting the opaque value back: %v", err)
	}
	if got, err := verdict.Get(ctx); err != nil || got != "the manager got its managerOnly back" {
		t.Fatalf("%s (%v)", got, err)
	}
}
