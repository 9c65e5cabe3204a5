package mgr_test

import (
	"context"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// fdSlack: open descriptors may settle a little above the baseline because the runtime
// opens some lazily (the first epoll/eventfd of a new poller thread, a pipe for the first
// child). Measured: the count returns to the baseline exactly here.
const fdSlack = 2

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count descriptors: %v", err)
	}
	return len(ents)
}

type leakBaseline struct {
	objects, sessions, goroutines, fds int
}

func measure(t *testing.T, srv *mgr.Server) leakBaseline {
	return leakBaseline{srv.NumObjects(), srv.NumSessions(), runtime.NumGoroutine(), openFDs(t)}
}

// waitBaseline waits until the manager and this process are back to base, then logs.
func waitBaseline(t *testing.T, srv *mgr.Server, base leakBaseline, what string, peak leakBaseline) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		now := measure(t, srv)
		if now.objects == base.objects && now.sessions == base.sessions &&
			now.goroutines <= base.goroutines+goroutineSlack && now.fds <= base.fds+fdSlack {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%s: not back to the baseline after 30s: now %+v, baseline %+v\n%s", what, now, base, buf)
		}
		time.Sleep(5 * time.Millisecond)
	}
	now := measure(t, srv)
	t.Logf("%s: objects %d → peak %d → %d; sessions %d → peak %d → %d; goroutines %d → peak %d → %d; fds %d → peak %d → %d",
		what, base.objects, peak.objects, now.objects, base.sessions, peak.sessions, now.sessions,
		base.goroutines, peak.goroutines, now.goroutines, base.fds, peak.fds, now.fds)
}

func (b *leakBaseline) max(o leakBaseline) {
	b.objects, b.sessions = max(b.objects, o.objects), max(b.sessions, o.sessions)
	b.goroutines, b.fds = max(b.goroutines, o.goroutines), max(b.fds, o.fds)
}

// TestLeakConnectCreateReleaseDisconnect runs 1,000 full client lifecycles.
func TestLeakConnectCreateReleaseDisconnect(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	srv := m.Server()
	base := measure(t, srv)
	peak := base
	for i := range 1000 {
		c, err := mgr.Connect(ctx, m.Options())
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		p, err := createCounter(ctx, c, int64(i))
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if got, err := p.Add(ctx, 1); err != nil || got != int64(i+1) {
			t.Fatalf("cycle %d: Add = %d, %v", i, got, err)
		}
		if i%100 == 0 {
			peak.max(measure(t, srv))
		}
		if err := p.Close(ctx); err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		c.Close()
	}
	waitBaseline(t, srv, base, "1000 connect/create/release/disconnect cycles", peak)
}

// TestLeakAbruptDisconnects drops 1,000 raw sessions mid-session: each has created an
// object and has a call blocked in it when its connection is closed.
func TestLeakAbruptDisconnects(t *testing.T) {
	m := startInProcess(t, mgr.Options{})
	srv := m.Server()
	base := measure(t, srv)
	peak := base
	key := m.AuthKey()
	for i := range 1000 {
		conn, err := net.Dial(m.Address().Network, m.Address().Addr)
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		r := wire.NewReader(conn, wire.DefaultMaxFrame)
		if err := wire.ClientHandshake(conn, r, key, mgr.BinaryCodec{}.Name()); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		create := frameOf(callPayload(1, wire.ControlObject, wire.CtlCreate, 0, func(e *mgr.Encoder) {
			e.String(counterTypeID)
			e.Int64(0)
		}))
		if _, err := conn.Write(create); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		reply, err := r.Next()
		if err != nil || reply[0] != wire.KindReply {
			t.Fatalf("session %d: create reply %x, %v", i, reply, err)
		}
		d := mgr.NewDecoder(reply[1:])
		d.Uint64()
		id := d.Uint64()
		// A call that blocks until the session ends, and one to the first that is
		// half-written: the connection is cut with both in the air.
		block := frameOf(callPayload(2, id, mBlock, 0, nil))
		get := frameOf(callPayload(3, id, mGet, 0, nil))
		conn.Write(append(block, get[:len(get)/2]...))
		if i%100 == 0 {
			waitUntil(t, "the blocked call to start", 20*time.Second, func() bool { return srv.NumObjects() == base.objects+1 })
			peak.max(measure(t, srv))
		}
		conn.Close()
	}
	waitBaseline(t, srv, base, "1000 abrupt disconnects", peak)
	// The manager still serves.
	if _, err := createCounter(context.Background(), m.Client(), 1); err != nil {
		t.Fatal(err)
	}
}
