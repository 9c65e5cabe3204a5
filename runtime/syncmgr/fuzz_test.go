package syncmgr_test

import (
	"context"
	"errors"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// FuzzSyncServerFrames sends arbitrary frames, after a real handshake, to a manager that
// serves the SyncManager types: values of type any, proxies stored in containers (the
// manager resolves and counts references), blocking calls. The manager must never panic,
// must drop everything the session held when it ends, and must keep serving.

// fuzzSlot is a long-lived object the fuzzed frames can reach: object IDs 1..len(slots)
// in a fuzzed call are translated to the slot's current ID, so seeds stay meaningful
// while the harness recreates objects that grew.
type fuzzSlot struct {
	typeID string
	create func(ctx context.Context, c *mgr.Client) (mgr.Proxy, error)
	id     uint64
	proxy  mgr.Proxy
}

func fuzzSlots() []*fuzzSlot {
	return []*fuzzSlot{
		{typeID: syncmgr.DictTypeID[string, any](), create: func(ctx context.Context, c *mgr.Client) (mgr.Proxy, error) {
			return syncmgr.CreateDict[string, any](ctx, c)
		}},
		{typeID: syncmgr.ListTypeID[any](), create: func(ctx context.Context, c *mgr.Client) (mgr.Proxy, error) {
			return syncmgr.CreateList[any](ctx, c, nil)
		}},
		{typeID: syncmgr.QueueTypeID[any](), create: func(ctx context.Context, c *mgr.Client) (mgr.Proxy, error) {
			return syncmgr.CreateQueue[any](ctx, c, 4)
		}},
		{typeID: syncmgr.NamespaceTypeID, create: func(ctx context.Context, c *mgr.Client) (mgr.Proxy, error) {
			return syncmgr.CreateNamespace(ctx, c)
		}},
		{typeID: syncmgr.LockTypeID, create: func(ctx context.Context, c *mgr.Client) (mgr.Proxy, error) {
			return syncmgr.CreateLock(ctx, c)
		}},
		{typeID: syncmgr.EventTypeID, create: func(ctx context.Context, c *mgr.Client) (mgr.Proxy, error) {
			return syncmgr.CreateEvent(ctx, c)
		}},
		{typeID: syncmgr.DictTypeID[string, *syncmgr.ListProxy[int]](), create: func(ctx context.Context, c *mgr.Client) (mgr.Proxy, error) {
			return syncmgr.CreateDict[string, *syncmgr.ListProxy[int]](ctx, c)
		}},
		{typeID: syncmgr.ListTypeID[int](), create: func(ctx context.Context, c *mgr.Client) (mgr.Proxy, error) {
			return syncmgr.CreateList[int](ctx, c, []int{1, 2, 3})
		}},
	}
}

// methodIndex returns the dispatch index of typeID's method name.
func methodIndex(tb testing.TB, typeID, name string) uint64 {
	desc := mgr.LookupType(typeID)
	if desc == nil {
		tb.Fatalf("%s is not registered", typeID)
	}
	for i, m := range desc.Methods {
		if m.Name == name {
			return uint64(i)
		}
	}
	tb.Fatalf("%s has no method %s", typeID, name)
	return 0
}

func syncCall(obj, method uint64, args func(e *mgr.Encoder)) []byte {
	e := mgr.NewEncoder([]byte{wire.KindCall})
	e.Uint64(7) // request ID
	e.Uint64(obj)
	e.Uint64(method)
	e.Uint64(0)
	if args != nil {
		args(e)
	}
	return e.Bytes()
}

// chunks joins payloads as [length byte][payload].
func chunks(payloads ...[]byte) []byte {
	var b []byte
	for _, p := range payloads {
		b = append(b, byte(len(p)))
		b = append(b, p...)
	}
	return b
}

func frameOf(p []byte) []byte {
	b := make([]byte, wire.HeaderSize, wire.HeaderSize+len(p))
	wire.PutHeader(b, len(p))
	return append(b, p...)
}

// syncStream makes the fuzz input into frames (see the runtime's FuzzServerFrames):
// chunks become frames, object IDs 1..len(slots) of calls are translated, and calls of
// the manager's Shutdown are dropped.
func syncStream(data []byte, slots []*fuzzSlot) []byte {
	var out []byte
	for len(data) > 0 {
		n := min(int(data[0]), len(data)-1)
		p := data[1 : 1+n]
		data = data[1+n:]
		if len(p) > 0 && p[0] == wire.KindCall {
			d := mgr.NewDecoder(p[1:])
			req, obj, method, timeout := d.Uint64(), d.Uint64(), d.Uint64(), d.Uint64()
			if d.Err() == nil {
				if obj == wire.ControlObject && method == wire.CtlShutdown {
					continue
				}
				if obj >= 1 && obj <= uint64(len(slots)) {
					obj = slots[obj-1].id
				}
				e := mgr.NewEncoder([]byte{wire.KindCall})
				e.Uint64(req)
				e.Uint64(obj)
				e.Uint64(method)
				e.Uint64(timeout)
				p = append(e.Bytes(), p[len(p)-d.Remaining():]...)
			}
		}
		out = append(out, frameOf(p)...)
	}
	return out
}

func FuzzSyncServerFrames(f *testing.F) {
	m, err := syncmgr.StartInProcess(mgr.Options{TokenTTL: 20 * time.Millisecond, MaxFrame: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { m.Shutdown(context.Background()) })
	srv, c := m.Server(), m.Client()
	ctx := context.Background()
	slots := fuzzSlots()
	renew := func(tb testing.TB, s *fuzzSlot) {
		if s.proxy != nil {
			s.proxy.(interface{ Close(context.Context) error }).Close(ctx)
		}
		p, err := s.create(ctx, c)
		if err != nil {
			tb.Fatal(err)
		}
		s.proxy, s.id = p, p.(interface{ ObjectID() uint64 }).ObjectID()
	}
	for _, s := range slots {
		renew(f, s)
	}

	val := func(v any) func(*mgr.Encoder) { return func(e *mgr.Encoder) { e.Value(&v) } }    // an any
	str := func(k string) func(*mgr.Encoder) { return func(e *mgr.Encoder) { e.Value(&k) } } // a string key
	kv := func(k string, v any) func(*mgr.Encoder) {
		return func(e *mgr.Encoder) { e.Value(&k); e.Value(&v) }
	}
	dictT, listT, queueT := slots[0].typeID, slots[1].typeID, slots[2].typeID
	nsT, lockT, evT, pdictT := slots[3].typeID, slots[4].typeID, slots[5].typeID, slots[6].typeID
	ref := func(k string) func(*mgr.Encoder) {
		return func(e *mgr.Encoder) {
			e.Value(&k)
			e.Bool(true) // a reference: flag 1, the ID (slot 8), the type
			e.Uint64(8)
			e.String(slots[7].typeID)
		}
	}
	nested := []any{int64(1), "two", []any{3.0, nil}, map[string]any{"k": []byte("v")}, time.Unix(1, 2)}
	f.Add(chunks(syncCall(1, methodIndex(f, dictT, "Set"), kv("a", nested)), syncCall(1, methodIndex(f, dictT, "Items"), nil)))
	f.Add(chunks(syncCall(1, methodIndex(f, dictT, "Get"), str("a")), syncCall(1, methodIndex(f, dictT, "Pop"), str("zz"))))
	f.Add(chunks(syncCall(2, methodIndex(f, listT, "Append"), val(nested)), syncCall(2, methodIndex(f, listT, "Sort"), nil),
		syncCall(2, methodIndex(f, listT, "Slice"), func(e *mgr.Encoder) { e.Int64(0); e.Int64(-1) })))
	f.Add(chunks(syncCall(3, methodIndex(f, queueT, "Put"), val("item")), syncCall(3, methodIndex(f, queueT, "Get"), nil),
		syncCall(3, methodIndex(f, queueT, "Get"), nil)))
	f.Add(chunks(syncCall(4, methodIndex(f, nsT, "Set"), kv("x", int64(5))), syncCall(4, methodIndex(f, nsT, "All"), nil)))
	f.Add(chunks(syncCall(5, methodIndex(f, lockT, "Acquire"), nil), syncCall(6, methodIndex(f, evT, "Wait"), nil)))
	f.Add(chunks(syncCall(7, methodIndex(f, pdictT, "Set"), ref("l")), syncCall(7, methodIndex(f, pdictT, "Get"), str("l"))))
	f.Add(chunks(syncCall(0, wire.CtlCreate, func(e *mgr.Encoder) { e.String(pdictT) }),
		syncCall(0, wire.CtlCreate, func(e *mgr.Encoder) { e.String(syncmgr.BarrierTypeID); e.Int64(2) })))
	f.Add(chunks(syncCall(0, wire.CtlToken, func(e *mgr.Encoder) { e.Uint64(8) }), []byte{wire.KindCancel, 7}, []byte{wire.KindPing}))

	base := func() (int, int) { return srv.NumObjects(), srv.NumSessions() }
	baseObjects, baseSessions := base()
	f.Fuzz(func(t *testing.T, data []byte) {
		conn, err := net.Dial(m.Address().Network, m.Address().Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		r := wire.NewReader(conn, wire.DefaultMaxFrame)
		if err := wire.ClientHandshake(conn, r, m.AuthKey(), mgr.BinaryCodec{}.Name()); err != nil {
			t.Fatal(err)
		}
		stream := append(syncStream(data, slots), frameOf([]byte{wire.KindPing})...)
		calls := 0
		for rest := stream; len(rest) >= wire.HeaderSize; {
			l := int(rest[0])<<24 | int(rest[1])<<16 | int(rest[2])<<8 | int(rest[3])
			if l > 0 && rest[wire.HeaderSize] == wire.KindCall {
				calls++
			}
			rest = rest[wire.HeaderSize+l:]
		}
		werr := make(chan error, 1)
		go func() {
			_, err := conn.Write(stream)
			werr <- err
		}()
		// Read until the pong and every call's answer, or the session's end; calls that
		// block never answer, so after the pong a short quiet spell ends the wait (it
		// decides how much of the input runs, never whether the target passes).
		for pong := false; !pong || calls > 0; {
			wait := 5 * time.Second // under the fuzzer's 10 s limit for one input
			if pong {
				wait = 20 * time.Millisecond
			}
			conn.SetReadDeadline(time.Now().Add(wait))
			fr, err := r.Next()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() && !pong {
					t.Fatalf("manager neither answered the ping nor closed the session: %v", err)
				}
				break
			}
			switch {
			case len(fr) == 1 && fr[0] == wire.KindPong:
				pong = true
			case len(fr) > 0 && (fr[0] == wire.KindReply || fr[0] == wire.KindError):
				calls--
			}
		}
		conn.Close()
		<-werr

		// Everything the session held goes. Proxies it stored inside containers are
		// dropped by the garbage collector (runtime.AddCleanup), so empty the proxy
		// dictionary and collect while waiting.
		deadline := time.Now().Add(10 * time.Second)
		for {
			objs, sess := base()
			if objs == baseObjects && sess == baseSessions {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after the session: %d objects, %d sessions; want %d, %d\n%+v", objs, sess, baseObjects, baseSessions, srv.Info())
			}
			if sess == baseSessions {
				slots[6].proxy.(*syncmgr.DictProxy[string, *syncmgr.ListProxy[int]]).Clear(ctx)
				runtime.GC()
			}
			time.Sleep(time.Millisecond)
		}
		// Containers that grew are replaced, so state stays small across inputs.
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		grown := false
		if n, err := slots[0].proxy.(*syncmgr.DictProxy[string, any]).Len(cctx); err != nil || n > 64 {
			grown = true
		}
		if n, err := slots[1].proxy.(*syncmgr.ListProxy[any]).Len(cctx); err != nil || n > 64 {
			grown = true
		}
		if grown {
			renew(t, slots[0])
			renew(t, slots[1])
			renew(t, slots[3])
			baseObjects, baseSessions = base()
		}
		// The manager keeps serving a well-behaved client.
		if _, err := slots[7].proxy.(*syncmgr.ListProxy[int]).Len(cctx); err != nil {
			t.Fatalf("well-behaved client after the fuzzed session: %v", err)
		}
	})
}
