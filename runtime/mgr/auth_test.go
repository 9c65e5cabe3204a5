package mgr_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// logCapture collects a manager's diagnostics (Options.Logf) for tests to wait on.
type logCapture struct {
	mu      sync.Mutex
	entries []logEntry
}

type logEntry struct {
	msg  string
	args []any
}

func (l *logCapture) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, logEntry{fmt.Sprintf(format, args...), args})
}

// count returns how many entries say "rejected connection" and wrap target.
func (l *logCapture) rejections(target error) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.entries {
		if !strings.Contains(e.msg, "rejected connection") {
			continue
		}
		for _, a := range e.args {
			if err, ok := a.(error); ok && errors.Is(err, target) {
				n++
			}
		}
	}
	return n
}

func (l *logCapture) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, e := range l.entries {
		b.WriteString(e.msg + "\n")
	}
	return b.String()
}

// recordingConn keeps what a client wrote.
type recordingConn struct {
	net.Conn
	mu  sync.Mutex
	out []byte
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.out = append(c.out, p...)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func dialManager(t *testing.T, m *mgr.Manager) net.Conn {
	t.Helper()
	conn, err := net.Dial(m.Address().Network, m.Address().Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	return conn
}

// waitClosed reads until the manager closes conn and fails if that does not happen
// within the deadline.
func waitClosed(t *testing.T, conn net.Conn, within time.Duration) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(within))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the manager did not close the connection within %s", within)
	}
}

func TestAuthWrongKeyFailsOnBothSides(t *testing.T) {
	var logs logCapture
	m := startInProcess(t, mgr.Options{Logf: logs.logf})
	opts := m.Options()
	opts.AuthKey = []byte("not the manager's key")
	_, err := mgr.Connect(testCtx(t), opts)
	if !errors.Is(err, mgr.ErrAuth) || !strings.Contains(err.Error(), "rejected our authkey") {
		t.Fatalf("client with a wrong key: %v, want ErrAuth saying the manager rejected our authkey", err)
	}
	waitUntil(t, "the manager to log an ErrAuth rejection", 20*time.Second, func() bool { return logs.rejections(mgr.ErrAuth) == 1 })
	if n := m.Server().NumSessions(); n != 1 {
		t.Fatalf("sessions = %d, want 1 (only the manager's own client)", n)
	}
}

func TestAuthTruncatedHandshake(t *testing.T) {
	var logs logCapture
	m := startInProcess(t, mgr.Options{Logf: logs.logf})
	// Record a real client's handshake bytes.
	conn := dialManager(t, m)
	rec := &recordingConn{Conn: conn}
	if err := wire.ClientHandshake(rec, wire.NewReader(conn, wire.MaxHandshakeFrame), m.AuthKey(), mgr.BinaryCodec{}.Name()); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	transcript := rec.out
	// Cut it at interesting points: inside the header, inside the hello, right after the
	// hello, inside the proof. The server must drop each with ErrHandshake.
	helloLen := 4 + int(transcript[3])
	cuts := []int{1, 3, 5, helloLen - 1, helloLen, helloLen + 2, len(transcript) - 1}
	for i, cut := range cuts {
		c := dialManager(t, m)
		if _, err := c.Write(transcript[:cut]); err != nil {
			t.Fatal(err)
		}
		c.(*net.UnixConn).CloseWrite()
		waitClosed(t, c, 20*time.Second)
		waitUntil(t, fmt.Sprintf("rejection %d (cut at %d)", i+1, cut), 20*time.Second, func() bool {
			return logs.rejections(mgr.ErrHandshake) == i+1
		})
	}
	if n := logs.rejections(mgr.ErrAuth); n != 0 {
		t.Fatalf("%d truncations reported as auth failures:\n%s", n, &logs)
	}
	// The recorded handshake made a session; it ends when its reader sees the EOF, which
	// a loaded machine may not have scheduled yet.
	waitUntil(t, "only the manager's own session left", 20*time.Second, func() bool { return m.Server().NumSessions() == 1 })
}

func TestAuthReplayedTranscriptIsRejected(t *testing.T) {
	var logs logCapture
	m := startInProcess(t, mgr.Options{Logf: logs.logf})
	conn := dialManager(t, m)
	rec := &recordingConn{Conn: conn}
	if err := wire.ClientHandshake(rec, wire.NewReader(conn, wire.MaxHandshakeFrame), m.AuthKey(), mgr.BinaryCodec{}.Name()); err != nil {
		t.Fatal(err)
	}
	// A session begins with its first frame (a Resume would continue another instead).
	if _, err := conn.Write([]byte{0, 0, 0, 1, wire.KindPing}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the recorded session", 20*time.Second, func() bool { return m.Server().NumSessions() == 2 })

	// Replay the client's bytes, all at once, on a new connection.
	replay := dialManager(t, m)
	if _, err := replay.Write(rec.out); err != nil {
		t.Fatal(err)
	}
	r := wire.NewReader(replay, wire.MaxHandshakeFrame)
	if _, err := r.Next(); err != nil { // the challenge, with a fresh nonce
		t.Fatal(err)
	}
	verdict, err := r.Next()
	if err != nil || len(verdict) != 1 {
		t.Fatalf("verdict for a replayed transcript: %x, %v; want the one-byte refusal", verdict, err)
	}
	waitClosed(t, replay, 20*time.Second)
	waitUntil(t, "an ErrAuth rejection of the replay", 20*time.Second, func() bool { return logs.rejections(mgr.ErrAuth) == 1 })
	if n := m.Server().NumSessions(); n != 2 {
		t.Fatalf("sessions = %d, want 2 (the manager's client and the recorded one)", n)
	}
}

// TestAuthSilentClientIsDroppedAfterHandshakeTimeout: a peer that connects and sends
// nothing holds a handshake slot only until HandshakeTimeout. Filling every slot with
// silent peers delays a real client only until they time out.
func TestAuthSilentClientIsDroppedAfterHandshakeTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	m := startInProcess(t, mgr.Options{HandshakeTimeout: timeout})
	start := time.Now()
	silent := dialManager(t, m)
	waitClosed(t, silent, 20*time.Second)
	took := time.Since(start)
	t.Logf("silent peer dropped after %s (HandshakeTimeout %s)", took.Round(time.Millisecond), timeout)
	if took < timeout/2 {
		t.Fatalf("silent peer dropped after %s, before the %s timeout", took, timeout)
	}

	// More silent peers than the manager has handshake slots (64): each is dropped, and a
	// real client gets in once slots free up.
	var conns []net.Conn
	for range 80 {
		conns = append(conns, dialManager(t, m))
	}
	opts := m.Options()
	c, err := mgr.Connect(testCtx(t), opts)
	if err != nil {
		t.Fatalf("real client behind 80 silent peers: %v", err)
	}
	defer c.Close()
	for _, s := range conns {
		waitClosed(t, s, 20*time.Second)
	}
}

// TestAuthFloodWhileServing opens 300 unauthenticated connections over about two seconds
// (silent, garbage, truncated, wrong key) while an authenticated client keeps calling;
// every call succeeds, and afterwards no session, goroutine or object is left.
func TestAuthFloodWhileServing(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test skipped in -short mode")
	}
	var logs logCapture
	m := startInProcess(t, mgr.Options{HandshakeTimeout: 300 * time.Millisecond, Logf: logs.logf})
	ctx := testCtx(t)
	p, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	baseG := runtime.NumGoroutine()

	stop := make(chan struct{})
	var calls atomic.Int64
	callErr := make(chan error, 1)
	go func() {
		defer close(callErr)
		for {
			select {
			case <-stop:
				return
			default:
			}
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := p.Add(cctx, 1)
			cancel()
			if err != nil {
				callErr <- err
				return
			}
			calls.Add(1)
		}
	}()

	const flood = 300
	wrong := m.Options()
	wrong.AuthKey = []byte("wrong")
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	tick := time.NewTicker(2 * time.Second / flood)
	for i := range flood {
		<-tick.C
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			conn, err := net.Dial(m.Address().Network, m.Address().Addr)
			if err != nil {
				t.Errorf("dial %d: %v", i, err)
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			switch i % 4 {
			case 0: // silent: dropped at the handshake deadline
			case 1: // garbage
				conn.Write([]byte("GET / HTTP/1.1\r\nHost: mgr\r\n\r\n"))
			case 2: // a frame larger than any handshake frame
				conn.Write([]byte{0x7f, 0xff, 0xff, 0xff})
			case 3: // wrong key
				err := wire.ClientHandshake(conn, wire.NewReader(conn, wire.MaxHandshakeFrame), wrong.AuthKey, mgr.BinaryCodec{}.Name())
				if !errors.Is(err, mgr.ErrAuth) {
					t.Errorf("flood client %d with a wrong key: %v", i, err)
				}
			}
			io.Copy(io.Discard, conn) // until the manager closes it
		})
	}
	tick.Stop()
	wg.Wait()
	close(stop)
	if err := <-callErr; err != nil {
		t.Fatalf("authenticated call during the flood: %v", err)
	}
	t.Logf("%d authenticated calls succeeded during a flood of %d connections; %d rejections logged",
		calls.Load(), flood, strings.Count(logs.String(), "rejected connection"))
	if calls.Load() == 0 {
		t.Fatal("no authenticated call completed during the flood")
	}
	if got, err := p.Get(ctx); err != nil || got != calls.Load() {
		t.Fatalf("count = %d, %v; want %d", got, err, calls.Load())
	}
	waitUntil(t, "goroutines back to the baseline", 20*time.Second, func() bool { return runtime.NumGoroutine() <= baseG+2 })
	if n := m.Server().NumSessions(); n != 1 {
		t.Fatalf("sessions = %d, want 1", n)
	}
}
