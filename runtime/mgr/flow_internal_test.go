package mgr

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
)

// Types of the flow-control tests (hand-registered, as mgrgen would).
//
// r2ser is Serialized with Inline methods: Touch(blob) and Open (closes r2gate).
// r2hold is not Serialized: Wait(blob) (not Inline) signals r2entered and waits for r2gate
// or its ctx; Fill(n) (Inline) calls r2onFill, then returns n bytes; Sink(blob) (Inline)
// returns len(blob).

const (
	r2serID  = "mgr.flowtest.ser"
	r2holdID = "mgr.flowtest.hold"
)

const (
	r2Touch = iota
	r2Open
)

const (
	r2Wait = iota
	r2Fill
	r2Sink
)

var (
	r2mu      sync.Mutex
	r2gate    chan struct{}
	r2entered chan struct{}
	r2onFill  func()
	r2once    *sync.Once
)

func r2reset() {
	r2mu.Lock()
	defer r2mu.Unlock()
	r2gate = make(chan struct{})
	r2entered = make(chan struct{}, 64)
	r2onFill = nil
	r2once = new(sync.Once)
}

func r2open() {
	r2mu.Lock()
	g, o := r2gate, r2once
	r2mu.Unlock()
	o.Do(func() { close(g) })
}

func init() {
	Register(&TypeDesc{
		TypeID:     r2serID,
		InlineNew:  true,
		Serialized: true,
		New:        func(context.Context, *Decoder) (any, error) { return new(int), nil },
		Methods: []Method{
			r2Touch: {Name: "Touch", Inline: true, Call: func(ctx context.Context, _ any, args *Decoder, res *Encoder) error {
				b := args.ByteSlice()
				res.Int64(int64(len(b)))
				return args.Done()
			}},
			r2Open: {Name: "Open", Inline: true, Call: func(ctx context.Context, _ any, args *Decoder, res *Encoder) error {
				r2open()
				return args.Done()
			}},
		},
	})
	Register(&TypeDesc{
		TypeID:    r2holdID,
		InlineNew: true,
		New:       func(context.Context, *Decoder) (any, error) { return new(int), nil },
		Methods: []Method{
			r2Wait: {Name: "Wait", TakesContext: true, Call: func(ctx context.Context, _ any, args *Decoder, res *Encoder) error {
				args.ByteSlice()
				r2mu.Lock()
				g, e := r2gate, r2entered
				r2mu.Unlock()
				e <- struct{}{}
				select {
				case <-g:
					return args.Done()
				case <-ctx.Done():
					return ctx.Err()
				}
			}},
			r2Fill: {Name: "Fill", Inline: true, Call: func(ctx context.Context, _ any, args *Decoder, res *Encoder) error {
				n := args.Int64()
				r2mu.Lock()
				f := r2onFill
				r2mu.Unlock()
				if f != nil {
					f()
				}
				res.ByteSlice(make([]byte, n))
				return args.Done()
			}},
			r2Sink: {Name: "Sink", Inline: true, Call: func(ctx context.Context, _ any, args *Decoder, res *Encoder) error {
				res.Int64(int64(len(args.ByteSlice())))
				return args.Done()
			}},
		},
	})
}

func r2call(ctx context.Context, h *Handle, method int, enc func(*Encoder)) (int64, error) {
	p := MakeProxyBase(h)
	c := p.Begin(method)
	if enc != nil {
		enc(&c.Args)
	}
	res, err := c.Do(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	if len(res.buf) > res.off {
		n = res.Int64()
	}
	return n, c.End()
}

func r2blob(n int) func(*Encoder) { return func(e *Encoder) { e.ByteSlice(make([]byte, n)) } }

// waitUntil polls cond, an internal flag with no channel to wait on, failing loudly
// after 20 s.
// startInProcessT starts an in-process manager for the test, shut down at its end, and
// returns it with a context of a minute.
func startInProcessT(t *testing.T) (context.Context, *Manager) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	m, err := StartInProcess(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	return ctx, m
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// An Inline call to a Serialized object takes the object's lock in the reader (TryLock)
// before runCall runs it. When the manager is shutting down, runCall answers ErrShutdown
// without dispatching — and must still release the lock (it once did not).
func TestInlineSerializedCallReleasesLockOnShutdown(t *testing.T) {
	r2reset()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := StartInProcess(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	c := m.Client()
	hs, err := c.Create(ctx, r2serID, nil)
	if err != nil {
		t.Fatal(err)
	}
	hh, err := c.Create(ctx, r2holdID, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A call in flight keeps Shutdown draining.
	waitDone := make(chan error, 1)
	go func() { _, err := r2call(ctx, hh, r2Wait, r2blob(1)); waitDone <- err }()
	<-r2entered
	sctx, scancel := context.WithCancel(context.Background())
	shutDone := make(chan error, 1)
	go func() { shutDone <- m.Server().Shutdown(sctx) }()
	waitUntil(t, "the manager to be shutting down", m.Server().shutting.Load)

	if _, err := r2call(ctx, hs, r2Touch, r2blob(1)); !errors.Is(err, ErrShutdown) {
		t.Errorf("Touch while shutting down: %v, want ErrShutdown", err)
	}
	obj := m.Server().lookup(hs.id)
	locked := !obj.mu.TryLock()
	if !locked {
		obj.mu.Unlock()
	}
	r2open()
	scancel()
	<-shutDone
	<-waitDone
	if locked {
		t.Fatal("the Serialized object's lock is still held after the call answered ErrShutdown: leaked")
	}
}

// The reader must take a call slot (acquire) before a Serialized object's lock
// (TryLock) for an Inline call. The other order once deadlocked: the reader held the
// lock while it waited for a slot, i.e. for one of its session's calls to end; those
// waited for a call of another session, which waited for the lock.
func TestReaderTakesCallSlotBeforeObjectLock(t *testing.T) {
	r2reset()
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	m, err := StartInProcess(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	defer r2open() // whatever happens, let the calls end
	c1 := m.Client()
	hs, err := c1.Create(ctx, r2serID, nil)
	if err != nil {
		t.Fatal(err)
	}
	hh, err := c1.Create(ctx, r2holdID, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c1.token(ctx, hs)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Connect(ctx, m.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	hs2, err := c2.Attach(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}

	// A raw session (a Client would hold the sixth call back itself, client_admit.go):
	// five calls of 11 MiB wait for the gate, 55 MiB of the session's 64 MiB in flight.
	conn, _ := rawConn(t, m)
	defer runtime.KeepAlive(hh) // only the IDs are used below: keep the GC from releasing them
	defer runtime.KeepAlive(hs)
	const blob = 11 << 20
	big := r2blobArgs(blob)
	for i := range 5 {
		if _, err := conn.Write(r2frame(uint64(10+i), hh.id, r2Wait, big)); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		<-r2entered
	}
	// A sixth, Inline on the Serialized object, does not fit: the reader waits for a slot.
	go conn.Write(r2frame(20, hs.id, r2Touch, big))
	waitUntil(t, "the reader to wait for a call slot", func() bool {
		m.Server().mu.RLock()
		defer m.Server().mu.RUnlock()
		for _, sess := range m.Server().sessions {
			if sess.flowBlocked.Load() {
				return true
			}
		}
		return false
	})

	// Another session opens the gate through the same object.
	octx, ocancel := context.WithTimeout(ctx, 5*time.Second)
	defer ocancel()
	if _, err := r2call(octx, hs2, r2Open, nil); err != nil {
		t.Fatalf("Open from another session while the raw session's reader waits for a slot: %v (the reader holds the object's lock)", err)
	}
}

// rawConn dials m and runs the handshake: a session that sends frames by hand.
func rawConn(t *testing.T, m *Manager) (net.Conn, *wire.Reader) {
	t.Helper()
	conn, err := net.Dial(m.Address().Network, m.Address().Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	r := wire.NewReader(conn, wire.DefaultMaxFrame)
	if err := wire.ClientHandshake(conn, r, m.AuthKey(), BinaryCodec{}.Name()); err != nil {
		t.Fatal(err)
	}
	r.SetMax(wire.DefaultMaxFrame)
	return conn, r
}

// Someone must read while callers are stuck writing. Here a call with a large argument
// waits in its write because the manager's reader is itself stuck writing the large
// reply of an abandoned call, which nobody reads. keepAlive once started the idle reader
// only with no call pending, so nobody read until the manager's stall deadline killed
// the connection. Several rounds, since the idle reader or the inline watchdog sometimes
// happen to step in first.
func TestSomeoneReadsWhileCallersWrite(t *testing.T) {
	r2reset()
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	m, err := StartInProcess(Options{Lease: 3 * time.Second, CancelGrace: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	c := m.Client()
	hh, err := c.Create(ctx, r2holdID, nil)
	if err != nil {
		t.Fatal(err)
	}
	const big = 2 << 20
	for round := range 5 {
		fctx, fcancel := context.WithCancel(ctx)
		r2mu.Lock()
		r2onFill = fcancel // the caller gives up as soon as the method starts
		r2mu.Unlock()
		_, err := r2call(fctx, hh, r2Fill, func(e *Encoder) { e.Int64(big) })
		if !errors.Is(err, context.Canceled) {
			t.Logf("round %d: Fill: %v; the reply beat the cancellation", round, err)
			continue
		}
		n, err := r2call(ctx, hh, r2Sink, r2blob(big))
		if err != nil || n != big {
			t.Fatalf("round %d: Sink after an abandoned large reply: %d, %v", round, n, err)
		}
	}
	if err := c.Err(); err != nil {
		t.Fatalf("connection ended: %v", err)
	}
}

// r2frame builds a call frame.
func r2frame(reqID, objID, method uint64, args []byte) []byte {
	f := make([]byte, wire.HeaderSize, wire.HeaderSize+40+len(args))
	f = append(f, wire.KindCall)
	f = binary.AppendUvarint(f, reqID)
	f = binary.AppendUvarint(f, objID)
	f = binary.AppendUvarint(f, method)
	f = binary.AppendUvarint(f, 0)
	f = append(f, args...)
	wire.PutHeader(f, len(f)-wire.HeaderSize)
	return f
}

func r2blobArgs(n int) []byte {
	var e Encoder
	e.ByteSlice(make([]byte, n))
	return e.buf
}

// The reader must flush the replies it left buffered before it waits for a call slot
// (acquire), not only before it waits in Next. Otherwise a client that pipelines an
// Inline call and a call that must wait for a slot does not get the Inline call's reply
// until some other call of the session ends — never, if those end only after the client
// acts on that reply. Raw frames, so that both calls arrive in one write.
func TestBufferedRepliesFlushedBeforeWaitingForSlot(t *testing.T) {
	r2reset()
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	m, err := StartInProcess(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	defer r2open()
	hh, err := m.Client().Create(ctx, r2holdID, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn, r := rawConn(t, m)
	defer runtime.KeepAlive(hh) // only hh.id is used below: keep the GC from releasing it

	const blob = 11 << 20
	big := r2blobArgs(blob)
	for i := range 5 { // 55 MiB of the session's 64 MiB in flight
		if _, err := conn.Write(r2frame(uint64(10+i), hh.id, r2Wait, big)); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		<-r2entered
	}
	// One write: Sink (Inline, answered at once, reply left buffered since the next
	// frame is already arriving) and a Wait that does not fit.
	batch := append(r2frame(1, hh.id, r2Sink, r2blobArgs(3)), r2frame(2, hh.id, r2Wait, big)...)
	go conn.Write(batch)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := r.Next()
	if err != nil {
		t.Fatalf("no reply to the Inline call while the reader waits for a call slot: %v", err)
	}
	d := Decoder{buf: f, off: 1}
	if f[0] != wire.KindReply || d.Uint64() != 1 {
		t.Fatalf("unexpected frame kind %d", f[0])
	}
}
