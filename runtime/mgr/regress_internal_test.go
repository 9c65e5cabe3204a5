package mgr

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Regression tests for the hardening commit: paged Info, proxy arguments kept alive by
// their call, and manager-internal calls that fail after making an object.

// regressItemTypeID is a plain object for filling the table.
const regressItemTypeID = "mgr.test.regress.item"

// regressHolder's Hold decodes a proxy argument, says so on entered, and waits for gate.
const regressHolderTypeID = "mgr.test.regress.holder"

type regressHolder struct {
	entered, gate chan struct{}
}

// regressMaker's methods make a new object and then succeed, fail, or fail to encode
// their result; regressRelay calls one of them through a proxy it is given, so the
// call runs inside the manager (Server.call).
const (
	regressMakerTypeID = "mgr.test.regress.maker"
	regressRelayTypeID = "mgr.test.regress.relay"
)

const (
	makeOK = iota
	makeThenFail
	makeThenBadResult
)

func init() {
	Register(&TypeDesc{
		TypeID:    regressItemTypeID,
		InlineNew: true,
		New:       func(context.Context, *Decoder) (any, error) { return new(int), nil },
	})
	Register(&TypeDesc{
		TypeID:    regressHolderTypeID,
		InlineNew: true,
		New: func(context.Context, *Decoder) (any, error) {
			return &regressHolder{entered: make(chan struct{}), gate: make(chan struct{})}, nil
		},
		Methods: []Method{
			{Name: "Hold", Call: func(ctx context.Context, obj any, args *Decoder, res *Encoder) error {
				h := args.Handle()
				if err := args.Done(); err != nil {
					return err
				}
				o := obj.(*regressHolder)
				close(o.entered)
				<-o.gate
				p := MakeProxyBase(h)
				return p.Close(ctx)
			}},
		},
	})
	Register(&TypeDesc{
		TypeID:    regressMakerTypeID,
		InlineNew: true,
		New:       func(context.Context, *Decoder) (any, error) { return new(int), nil },
		Methods: []Method{
			makeOK: {Name: "MakeOK", Call: func(ctx context.Context, _ any, args *Decoder, res *Encoder) error {
				res.Object(regressItemTypeID, new(int))
				return args.Done()
			}},
			makeThenFail: {Name: "MakeThenFail", Call: func(ctx context.Context, _ any, args *Decoder, res *Encoder) error {
				res.Object(regressItemTypeID, new(int))
				return errors.New("failed after making an object")
			}},
			// MakeThenBadResult registers its object, then a result the codec refuses.
			makeThenBadResult: {Name: "MakeThenBadResult", Call: func(ctx context.Context, _ any, args *Decoder, res *Encoder) error {
				res.Object(regressItemTypeID, new(int))
				res.Value(make(chan int))
				return args.Done()
			}},
		},
	})
	Register(&TypeDesc{
		TypeID:    regressRelayTypeID,
		InlineNew: true,
		New:       func(context.Context, *Decoder) (any, error) { return new(int), nil },
		Methods: []Method{
			// Relay(maker proxy, method) calls method of the maker through the manager's
			// own proxy and closes what it returns.
			{Name: "Relay", Call: func(ctx context.Context, _ any, args *Decoder, res *Encoder) error {
				h := args.Handle()
				method := int(args.Int64())
				if err := args.Done(); err != nil {
					return err
				}
				p := MakeProxyBase(h)
				defer p.Close(ctx)
				if _, ok := h.owner.(*Server); !ok {
					return errors.New("not the manager's own proxy")
				}
				c := p.Begin(method)
				r, err := c.Do(ctx)
				if err != nil {
					return err
				}
				made := MakeProxyBase(r.Handle())
				if err := c.End(); err != nil {
					return err
				}
				return made.Close(ctx)
			}},
		},
	})
}

// TestInfoPagesALargeTable: an introspection that does not fit in one frame used to
// exceed the client's MaxFrame, and the client ended the connection over it. Client.Info
// pages: every object comes exactly once, sorted, with its holders.
func TestInfoPagesALargeTable(t *testing.T) {
	checkPagedInfo(t, 64<<10, 20_000)
}

// TestInfoPagesAMillionObjects is the same with the default MaxFrame and a table of a
// million objects.
func TestInfoPagesAMillionObjects(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("a million objects: not with -short or -race")
	}
	checkPagedInfo(t, 0, 1_000_000)
}

func checkPagedInfo(t *testing.T, maxFrame, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	opts := Options{MaxFrame: maxFrame}
	m, err := StartInProcess(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	c2, err := Connect(ctx, Options{Address: m.Address(), AuthKey: m.AuthKey(), MaxFrame: maxFrame})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()

	// Objects held by one session, by the other, by both (three references), and named
	// ones held by nobody.
	s := m.Server()
	desc := LookupType(regressItemTypeID)
	want := make(map[uint64][]Holder, n)
	names := make(map[uint64]string)
	s.mu.Lock()
	s1, s2 := s.sessions[m.Client().SessionID()], s.sessions[c2.SessionID()]
	if s1 == nil || s2 == nil {
		s.mu.Unlock()
		t.Fatal("sessions not found")
	}
	for i := range n {
		switch i % 4 {
		case 0:
			obj, _ := s.addObjectLocked(desc, new(int), s1)
			want[obj.id] = []Holder{{s1.id, 1}}
		case 1:
			obj, _ := s.addObjectLocked(desc, new(int), s2)
			want[obj.id] = []Holder{{s2.id, 1}}
		case 2:
			obj, _ := s.addObjectLocked(desc, new(int), s1)
			s.increfLocked(obj, s2)
			s.increfLocked(obj, s2)
			want[obj.id] = []Holder{{s1.id, 1}, {s2.id, 2}}
		case 3:
			obj, _ := s.addObjectLocked(desc, new(int), nil)
			obj.named = fmt.Sprintf("item-%d", i)
			s.named[obj.named] = obj.id
			want[obj.id] = nil
			names[obj.id] = obj.named
		}
	}
	s.mu.Unlock()

	// The test means something only if one unpaged Info would not fit in a frame.
	if maxFrame > 0 {
		full := s.Info()
		e := NewEncoder(nil)
		e.Value(&full)
		if e.Err() != nil || len(e.Bytes()) <= maxFrame {
			t.Fatalf("one unpaged Info is %d bytes (%v): not over MaxFrame %d", len(e.Bytes()), e.Err(), maxFrame)
		}
	}

	start := time.Now()
	clients := []*Client{m.Client(), c2}
	if n > 100_000 {
		clients = clients[:1] // seconds per Info
	}
	for _, c := range clients {
		info, err := c.Info(ctx)
		if err != nil {
			t.Fatalf("Info from session %d: %v", c.SessionID(), err)
		}
		if err := c.Err(); err != nil {
			t.Fatalf("session %d after Info: %v", c.SessionID(), err)
		}
		if len(info.Objects) != n {
			t.Fatalf("Info lists %d objects, want %d", len(info.Objects), n)
		}
		if !slices.IsSortedFunc(info.Objects, func(a, b ObjectInfo) int { return cmpU64(a.ID, b.ID) }) {
			t.Fatal("objects not sorted by ID")
		}
		seen := make(map[uint64]bool, n)
		for _, o := range info.Objects {
			if seen[o.ID] {
				t.Fatalf("object #%d listed twice", o.ID)
			}
			seen[o.ID] = true
			holders, ok := want[o.ID]
			if !ok {
				t.Fatalf("unexpected object #%d", o.ID)
			}
			refs := 0
			for _, h := range holders {
				refs += h.Refs
			}
			if o.TypeID != regressItemTypeID || o.Name != names[o.ID] || o.Refs != refs || !slices.Equal(o.Holders, holders) {
				t.Fatalf("object #%d: %+v, want holders %v, name %q", o.ID, o, holders, names[o.ID])
			}
		}
		var sids []uint64
		for _, si := range info.Sessions {
			sids = append(sids, si.ID)
		}
		if !slices.Equal(sids, []uint64{s1.id, s2.id}) {
			t.Fatalf("sessions %v, want [%d %d]", sids, s1.id, s2.id)
		}
		byID := map[uint64]int{}
		for _, si := range info.Sessions {
			byID[si.ID] = si.Refs
		}
		// s1 holds one of cases 0 and 2; s2 one of case 1 and two of case 2.
		q := n / 4
		if byID[s1.id] != 2*q || byID[s2.id] != 3*q {
			t.Fatalf("session refs %v, want %d and %d", byID, 2*q, 3*q)
		}
	}
	t.Logf("%d objects, MaxFrame %d: %d paged Info calls in %s", n, m.Client().opts.maxFrame(), len(clients), time.Since(start).Round(time.Millisecond))
}

// TestProxyArgumentHeldUntilReply: a proxy passed as an argument used to be reachable
// only until Encoder.Ref copied its ID; collected while the call was under way, its
// cleanup released the reference the call was about to use. The Call now holds the
// Handle until its reply.
func TestProxyArgumentHeldUntilReply(t *testing.T) {
	ctx, m := startInProcessT(t)
	c := m.Client()
	hh, err := c.Create(ctx, regressHolderTypeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	holder := MakeProxyBase(hh)
	defer holder.Close(ctx)
	o := m.Server().lookup(hh.id).value.(*regressHolder)
	var openGate sync.Once
	defer openGate.Do(func() { close(o.gate) }) // a failing test lets the call end

	collected := make(chan struct{})
	call, argID := beginHoldCall(ctx, t, c, &holder, collected)
	done := make(chan error, 1)
	go func() {
		_, err := call.Do(ctx)
		if err == nil {
			err = call.End()
		}
		done <- err
	}()
	select {
	case <-o.entered:
	case err := <-done:
		t.Fatalf("Hold returned before it was let go: %v", err)
	case <-ctx.Done():
		t.Fatal("Hold never started")
	}

	// The call is in flight and the argument's Handle is reachable only from it. Collect
	// until two unreachable canaries have been cleaned up one after the other: the
	// argument would have been too, were the call not holding it.
	for range 2 {
		canaryGone := make(chan struct{})
		canary := new([64]byte)
		runtime.AddCleanup(canary, func(ch chan struct{}) { close(ch) }, canaryGone)
		canary = nil
		deadline := time.Now().Add(20 * time.Second)
	collect:
		for {
			runtime.GC()
			select {
			case <-canaryGone:
				break collect
			case <-collected:
				t.Fatal("the proxy argument of a call in flight was garbage collected")
			default:
			}
			if time.Now().After(deadline) {
				t.Fatal("the canary was never collected")
			}
			time.Sleep(time.Millisecond)
		}
	}
	select {
	case <-collected:
		t.Fatal("the proxy argument of a call in flight was garbage collected")
	default:
	}
	if m.Server().lookup(argID) == nil {
		t.Fatal("the argument's object is gone while its call is in flight")
	}

	openGate.Do(func() { close(o.gate) })
	if err := <-done; err != nil {
		t.Fatalf("Hold: %v", err)
	}
	// Once the call is over nothing holds the Handle: it is collected and released (the
	// check above could see a collection).
	deadline := time.Now().Add(20 * time.Second)
	for {
		runtime.GC()
		select {
		case <-collected:
		default:
			if time.Now().After(deadline) {
				t.Fatal("the argument was never collected after its call")
			}
			time.Sleep(time.Millisecond)
			continue
		}
		break
	}
	waitUntil(t, "the collected argument's object to be released", func() bool { return m.Server().lookup(argID) == nil })
}

// beginHoldCall creates an object and starts a Hold call with a proxy to it as argument,
// keeping nothing else of the proxy: collected is closed when its Handle is collected.
//
//go:noinline
func beginHoldCall(ctx context.Context, t *testing.T, c *Client, holder *ProxyBase, collected chan struct{}) (*Call, uint64) {
	h, err := c.Create(ctx, regressItemTypeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	runtime.AddCleanup(h, func(ch chan struct{}) { close(ch) }, collected)
	call := holder.Begin(0)
	call.Args.Ref(h)
	return call, h.id
}

// TestFailedInternalCallRemovesObjectsItMade: a method the manager calls itself, through
// a proxy stored in a shared object, registers the object it returns before its result
// is decoded. When that call failed (the method's error after making it, or a result
// that cannot be encoded) the object stayed in the table with no reference, forever.
func TestFailedInternalCallRemovesObjectsItMade(t *testing.T) {
	ctx, m := startInProcessT(t)
	c := m.Client()
	rh, err := c.Create(ctx, regressRelayTypeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	relay := MakeProxyBase(rh)
	defer relay.Close(ctx)
	mh, err := c.Create(ctx, regressMakerTypeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	maker := MakeProxyBase(mh)
	defer maker.Close(ctx)
	base := m.Server().NumObjects()

	relayCall := func(method int) error {
		call := relay.Begin(0)
		call.Args.Ref(mh)
		call.Args.Int64(int64(method))
		if _, err := call.Do(ctx); err != nil {
			return err
		}
		return call.End()
	}
	// The success path: the object is made, returned, and closed by the relay.
	if err := relayCall(makeOK); err != nil {
		t.Fatalf("Relay(MakeOK): %v", err)
	}
	waitUntil(t, "MakeOK's object to be released", func() bool { return m.Server().NumObjects() == base })

	for _, tc := range []struct {
		method int
		want   string
	}{
		{makeThenFail, "failed after making an object"},
		{makeThenBadResult, "chan"},
	} {
		for range 3 {
			err := relayCall(tc.method)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Relay(%d) = %v, want an error mentioning %q", tc.method, err, tc.want)
			}
		}
		// No handle ever owned the objects made: nothing but the failed call can remove
		// them, and it does so before it returns.
		if n := m.Server().NumObjects(); n != base {
			var left []string
			for _, o := range m.Server().Info().Objects {
				left = append(left, fmt.Sprintf("#%d %s refs %d", o.ID, o.TypeID, o.Refs))
			}
			t.Fatalf("after failed internal calls of method %d: %d objects, want %d: %v", tc.method, n, base, left)
		}
	}
}

// regressTakerTypeID's constructor takes a proxy argument and closes it.
const regressTakerTypeID = "mgr.test.regress.taker"

func init() {
	Register(&TypeDesc{
		TypeID:    regressTakerTypeID,
		InlineNew: true,
		New: func(ctx context.Context, args *Decoder) (any, error) {
			h := args.Handle()
			if err := args.Done(); err != nil {
				return nil, err
			}
			p := MakeProxyBase(h)
			return new(int), p.Close(ctx)
		},
	})
}

// A pipelined create keeps its proxy arguments only until its reply, like any call: its
// Call lives as long as the Handle it made, and used to keep them as long too, so a
// dropped argument was never collected while the created object's proxy lived.
func TestPipelinedCreateDoesNotKeepItsArguments(t *testing.T) {
	ctx, m := startInProcessT(t)
	collected := make(chan struct{})
	taker := beginPipelinedTaker(ctx, t, m.Client(), collected)
	if err := taker.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for done := false; !done; {
		runtime.GC()
		select {
		case <-collected:
			done = true
		default:
			if time.Now().After(deadline) {
				t.Fatal("the pipelined create's proxy argument was never collected while the created object's Handle lived")
			}
			time.Sleep(time.Millisecond)
		}
	}
	runtime.KeepAlive(taker)
}

// beginPipelinedTaker creates an object and a pipelined taker of a proxy to it, keeping
// nothing else of that proxy: collected is closed when its Handle is collected.
//
//go:noinline
func beginPipelinedTaker(ctx context.Context, t *testing.T, c *Client, collected chan struct{}) *Handle {
	h, err := c.Create(ctx, regressItemTypeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	runtime.AddCleanup(h, func(ch chan struct{}) { close(ch) }, collected)
	taker, err := c.CreatePipelined(ctx, regressTakerTypeID, func(e *Encoder) { e.Ref(h) })
	if err != nil {
		t.Fatal(err)
	}
	return taker
}
