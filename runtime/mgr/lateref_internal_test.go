package mgr

import (
	"context"
	"errors"
	"testing"
	"time"
)

// maker's methods return a new object. Make waits for makerGate (and ignores its ctx:
// it does not honour cancellation), so its reply can come after the caller gave up;
// MakeThenFail returns an object and then an error.
const makerTypeID = "mgr.test.maker"

var makerGate = make(chan struct{})

const (
	makerMake = iota
	makerMakeThenFail
)

func init() {
	Register(&TypeDesc{
		TypeID:    makerTypeID,
		InlineNew: true,
		New:       func(context.Context, *Decoder) (any, error) { return new(int), nil },
		Methods: []Method{
			makerMake: {Name: "Make", TakesContext: true, Call: func(ctx context.Context, _ any, args *Decoder, res *Encoder) error {
				<-makerGate
				res.Object(makerTypeID, new(int))
				return args.Done()
			}},
			makerMakeThenFail: {Name: "MakeThenFail", Call: func(ctx context.Context, _ any, args *Decoder, res *Encoder) error {
				res.Object(makerTypeID, new(int))
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
	close(makerGate)
	waitUntil(t, "the late reply's object to be released", func() bool { return m.Server().NumObjects() == base })
}
