package mgr

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// maker's methods return a new object. Make waits for its maker's gate (and ignores its
// ctx: it does not honour cancellation), so its reply can come after the caller gave up;
// MakeThenFail returns an object and then an error. Each maker has a gate of its own, so
// a test that opens one leaves nothing behind for the next run (-count).
const makerTypeID = "mgr.test.maker"

type maker struct{ gate chan struct{} }

func newMaker() *maker { return &maker{gate: make(chan struct{})} }

const (
	makerMake = iota
	makerMakeThenFail
)

func init() {
	Register(&TypeDesc{
		TypeID:    makerTypeID,
		InlineNew: true,
		New:       func(context.Context, *Decoder) (any, error) { return newMaker(), nil },
		Methods: []Method{
			makerMake: {Name: "Make", TakesContext: true, Call: func(ctx context.Context, v any, args *Decoder, res *Encoder) error {
				<-v.(*maker).gate
				res.Object(makerTypeID, newMaker())
				return args.Done()
			}},
			makerMakeThenFail: {Name: "MakeThenFail", Call: func(ctx context.Context, _ any, args *Decoder, res *Encoder) error {
				res.Object(makerTypeID, newMaker())
				return errors.New("failed after making an object")
			}},
		},
	})
}

// A reply that comes after its caller gave up (past the cancel grace) and brings a new
// reference must not leave it held until the session ends: the reply names the
// references it counted, and the client releases them. And a reply that counted a
// reference but became an error gives it back in the manager.
func TestLateOrFailedReplyLeavesNoReference(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := StartInProcess(Options{CancelGrace: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	h, err := m.Client().Create(ctx, makerTypeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.owner.release(ctx, h)
	// Open this maker's gate however the test ends, before the deferred Shutdown: a Make
	// left blocked would hold the shutdown up.
	obj := m.Server().lookup(h.id)
	if obj == nil {
		t.Fatalf("maker #%d not in the table", h.id)
	}
	openGate := sync.OnceFunc(func() { close(obj.value.(*maker).gate) })
	defer openGate()
	p := MakeProxyBase(h)
	base := m.Server().NumObjects()
	call := func(ctx context.Context, method int) error {
		c := p.Begin(method)
		res, err := c.Do(ctx)
		if err != nil {
			return err
		}
		if hh := res.Handle(); hh != nil {
			defer hh.owner.release(context.Background(), hh)
		}
		return c.End()
	}

	// The manager counts a reference for the object MakeThenFail made, then answers with
	// an error: no reference may stay.
	if err := call(ctx, makerMakeThenFail); err == nil {
		t.Fatal("MakeThenFail succeeded")
	}
	waitUntil(t, "the failed reply's object to go", func() bool { return m.Server().NumObjects() == base })

	// Give up on Make before it answers; then let it answer.
	sctx, scancel := context.WithTimeout(ctx, 20*time.Millisecond)
	err = call(sctx, makerMake)
	scancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Make given up on: %v, want DeadlineExceeded", err)
	}
	openGate()
	waitUntil(t, "the late reply's object to be released", func() bool { return m.Server().NumObjects() == base })
}
