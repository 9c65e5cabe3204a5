package mgr_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// rawSession dials the manager and authenticates, returning the bare connection so a
// test can send whatever bytes it likes.
func rawSession(t *testing.T, m *mgr.Manager) (net.Conn, *wire.Reader) {
	t.Helper()
	conn, err := net.Dial(m.Address().Network, m.Address().Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	r := wire.NewReader(conn, wire.DefaultMaxFrame)
	if err := wire.ClientHandshake(conn, r, m.AuthKey(), mgr.BinaryCodec{}.Name()); err != nil {
		t.Fatal(err)
	}
	r.SetMax(wire.DefaultMaxFrame)
	return conn, r
}

// readAbort reads frames until the manager's Abort notice and returns its message.
func readAbort(t *testing.T, conn net.Conn, r *wire.Reader) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		f, err := r.Next()
		if err != nil {
			t.Fatalf("connection ended without an abort notice: %v", err)
		}
		if len(f) > 0 && f[0] == wire.KindAbort {
			d := mgr.NewDecoder(f[1:])
			return d.String()
		}
	}
}

func TestHostileFramesAreRejectedWhileOthersWork(t *testing.T) {
	ctx := testCtx(t)
	var logMu sync.Mutex
	var logs []string
	m := startInProcess(t, mgr.Options{MaxFrame: 1 << 20, Logf: func(f string, a ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		logs = append(logs, f)
	}})
	p, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		bytes []byte
		want  string
	}{
		{"oversized", binary.BigEndian.AppendUint32(nil, 1<<30), "frame too large: 1073741824 bytes, limit 1048576"},
		{"negative", binary.BigEndian.AppendUint32(nil, 0xfffffff0), "negative length"},
		{"unknown kind", []byte{0, 0, 0, 3, 99, 1, 2}, "unknown message kind 99"},
		{"truncated call header", []byte{0, 0, 0, 2, wire.KindCall, 0x80}, "call header"},
		{"call metadata past the frame", []byte{0, 0, 0, 7, wire.KindCallMeta, 1, 1, 0, 0, 9, 'a'}, "call header"},
		{"empty frame", []byte{0, 0, 0, 0}, "empty frame"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, r := rawSession(t, m)
			if _, err := conn.Write(tc.bytes); err != nil {
				t.Fatal(err)
			}
			if msg := readAbort(t, conn, r); !strings.Contains(msg, tc.want) {
				t.Fatalf("abort message %q, want it to contain %q", msg, tc.want)
			}
			// The well-behaved client is unaffected.
			if _, err := p.Add(ctx, 1); err != nil {
				t.Fatalf("other client after %s: %v", tc.name, err)
			}
		})
	}
	if got, _ := p.Get(ctx); got != int64(len(cases)) {
		t.Fatalf("count = %d, want %d", got, len(cases))
	}
}

// TestImpostorManagerIsCaughtByTheClient: a listener that accepts any proof but cannot
// make its own fails the client's handshake with ErrAuth.
func TestImpostorManagerIsCaughtByTheClient(t *testing.T) {
	ctx := testCtx(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		// An impostor that accepts any proof but cannot make its own.
		r := wire.NewReader(conn, wire.MaxHandshakeFrame)
		r.Next()
		wire.WriteFrame(conn, append([]byte{0}, make([]byte, wire.NonceSize)...))
		r.Next()
		wire.WriteFrame(conn, append([]byte{0}, make([]byte, 32)...))
	}()
	_, err = mgr.Connect(ctx, mgr.Options{Address: mgr.ListenerAddress(ln), AuthKey: []byte("k")})
	if !errors.Is(err, mgr.ErrAuth) || !strings.Contains(err.Error(), "could not prove") {
		t.Fatalf("impostor manager: %v, want ErrAuth", err)
	}
}

func TestAddressRoundTrip(t *testing.T) {
	for _, s := range []string{"unix:/tmp/x/mgr.sock", "tcp:127.0.0.1:5000", "tcp:[::1]:80"} {
		a, err := mgr.ParseAddress(s)
		if err != nil || a.String() != s {
			t.Errorf("ParseAddress(%q) = %v, %v", s, a, err)
		}
	}
	for _, s := range []string{"unix:", "nonsense", "tcp:nohost"} {
		if _, err := mgr.ParseAddress(s); err == nil {
			t.Errorf("ParseAddress(%q) accepted", s)
		}
	}
}

func TestTCPWithTLS(t *testing.T) {
	ctx := testCtx(t)
	serverConf, clientConf := testTLS(t)
	srv, err := mgr.NewServer(mgr.Options{AuthKey: []byte("key")})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := mgr.Listen(mgr.Address{Network: "tcp", Addr: "127.0.0.1:0"}, serverConf)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())
	c, err := mgr.Connect(ctx, mgr.Options{Address: mgr.ListenerAddress(ln), AuthKey: []byte("key"), TLS: clientConf})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := createCounter(ctx, c, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.Add(ctx, 2); err != nil || got != 4 {
		t.Fatalf("Add over TLS = %d, %v", got, err)
	}
	_ = context.Background
}

// A call whose request ID the manager has read already is dropped: a client resuming a
// session may send a call again that had reached the manager after all (resume.go). The
// first runs once, and answers once.
func TestDuplicateRequestIDIsDropped(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	p, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	conn, r := rawSession(t, m)
	blockCall := func() []byte {
		e := mgr.NewEncoder(append(make([]byte, wire.HeaderSize), wire.KindCall))
		e.Uint64(7) // request ID, the same both times
		e.Uint64(p.ObjectID())
		e.Uint64(mBlock)
		e.Uint64(0)
		f := e.Bytes()
		wire.PutHeader(f, len(f)-wire.HeaderSize)
		return f
	}
	if _, err := conn.Write(blockCall()); err != nil {
		t.Fatal(err)
	}
	if err := p.call0(ctx, mBlockStarted); err != nil {
		t.Fatal(err)
	}
	ping := []byte{0, 0, 0, 1, wire.KindPing}
	cancel := append([]byte{0, 0, 0, 2, wire.KindCancel}, 7)
	if _, err := conn.Write(slices.Concat(blockCall(), cancel, ping)); err != nil {
		t.Fatal(err)
	}
	// Until the cancelled call's reply and the pong are in; then a second ping's pong
	// must come with no second reply before it.
	replies, pongs := 0, 0
	for pongs < 2 {
		f, err := r.Next()
		if err != nil {
			t.Fatalf("after %d replies, %d pongs: %v", replies, pongs, err)
		}
		switch f[0] {
		case wire.KindReply, wire.KindError, wire.KindReserved, wire.KindReservedError:
			replies++
		case wire.KindPong:
			if pongs++; pongs == 1 {
				for replies == 0 { // the reply may follow the first pong
					f, err := r.Next()
					if err != nil {
						t.Fatal(err)
					}
					if f[0] == wire.KindError || f[0] == wire.KindReply {
						replies++
					}
				}
				if _, err := conn.Write(ping); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if replies != 1 {
		t.Fatalf("%d replies to a call sent twice, want 1", replies)
	}
	if _, err := p.Add(ctx, 1); err != nil {
		t.Fatalf("other client afterwards: %v", err)
	}
}
