package mgr_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// Environment of helper client processes: where the manager is, its key, and a token.
const (
	envHelperAddr  = "MGR_T7_ADDR"
	envHelperKey   = "MGR_T7_KEY"
	envHelperToken = "MGR_T7_TOKEN"
	envHelperDur   = "MGR_T7_DURATION"
)

// goroutineSlack is how far above its baseline the test process's goroutine count may
// settle. Every goroutine of a session must end: its read loop, lease watcher and calls;
// idle call workers exit workerIdle (2 s) after their last call, which the tests wait
// for (they poll with a generous deadline, never sleep). The slack covers only the Go
// runtime and standard library starting helpers lazily the first time a feature is used
// (the first SIGCHLD, os/exec's first wait); measured, the count returns exactly to the
// baseline in these tests.
const goroutineSlack = 2

// startHelper runs this test binary as a helper process with role and env, and returns
// it with a reader of its stdout.
func startHelper(t *testing.T, role string, env ...string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), helperRoleEnv+"="+role), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, bufio.NewReader(out)
}

func helperEnv(m *mgr.Manager, tok mgr.Token) []string {
	return []string{
		envHelperAddr + "=" + m.Address().String(),
		envHelperKey + "=" + hex.EncodeToString(m.AuthKey()),
		envHelperToken + "=" + tok.String(),
	}
}

// helperConnect connects a helper process to the manager its environment names.
func helperConnect(ctx context.Context) (*mgr.Client, mgr.Token, error) {
	addr, err := mgr.ParseAddress(os.Getenv(envHelperAddr))
	if err != nil {
		return nil, mgr.Token{}, err
	}
	key, err := hex.DecodeString(os.Getenv(envHelperKey))
	if err != nil {
		return nil, mgr.Token{}, err
	}
	c, err := mgr.Connect(ctx, mgr.Options{Address: addr, AuthKey: key})
	if err != nil {
		return nil, mgr.Token{}, err
	}
	var tok mgr.Token
	if s := os.Getenv(envHelperToken); s != "" {
		tok, err = mgr.ParseToken(s)
	}
	return c, tok, err
}

// helperHoldAndBlock attaches the token, creates three counters of its own, says
// "ready", and blocks in a call on the attached counter until it is killed.
func helperHoldAndBlock() int {
	ctx := context.Background()
	c, tok, err := helperConnect(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	h, err := c.Attach(ctx, tok)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for range 3 {
		if _, err := createCounter(ctx, c, 0); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	fmt.Println("ready")
	p := &counterProxy{mgr.MakeProxyBase(h)}
	p.Block(ctx) // until killed
	return 1
}

func readLine(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != want {
		t.Fatalf("helper said %q, %v; want %q", line, err, want)
	}
}

// TestClientKilledMidCallLosesNothingOfOthers kills (SIGKILL) a client process while it
// is blocked in a call and holds references: the manager drops its session, its calls and
// its references, and returns to its baseline of objects, sessions and goroutines, while
// the other client goes on.
func TestClientKilledMidCallLosesNothingOfOthers(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	srv := m.Server()
	shared, err := createCounter(ctx, m.Client(), 7)
	if err != nil {
		t.Fatal(err)
	}
	baseObjects, baseSessions := srv.NumObjects(), srv.NumSessions()
	runtime.GC()
	baseG := runtime.NumGoroutine()

	for round := range 3 {
		tok, err := shared.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cmd, out := startHelper(t, "hold-and-block", helperEnv(m, tok)...)
		readLine(t, out, "ready")
		if err := shared.call0(ctx, mBlockStarted); err != nil {
			t.Fatal(err)
		}
		info := srv.Info()
		if srv.NumSessions() != baseSessions+1 || srv.NumObjects() != baseObjects+3 {
			t.Fatalf("round %d before the kill: %d sessions, %d objects\n%+v", round, srv.NumSessions(), srv.NumObjects(), info)
		}
		killed := time.Now()
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the killed client's session and objects to go", 20*time.Second, func() bool {
			return srv.NumSessions() == baseSessions && srv.NumObjects() == baseObjects
		})
		// A Unix socket's peer is known: its death ends the session at once, without the
		// resume window a network break gets.
		t.Logf("round %d: released %s after the kill (resume window %s)", round, time.Since(killed).Round(time.Microsecond), 10*time.Second)
		cmd.Wait()
		waitUntil(t, "the manager's goroutines to return to the baseline", 20*time.Second, func() bool {
			return runtime.NumGoroutine() <= baseG+goroutineSlack
		})
		t.Logf("round %d: objects %d→%d→%d, sessions %d→%d→%d, goroutines %d (baseline %d)", round,
			baseObjects, baseObjects+3, srv.NumObjects(), baseSessions, baseSessions+1, srv.NumSessions(),
			runtime.NumGoroutine(), baseG)
		// The shared object lost only the dead client's reference and still works.
		if got, err := shared.Add(ctx, 1); err != nil || got != int64(8+round) {
			t.Fatalf("shared counter after the kill: %d, %v", got, err)
		}
		for _, o := range srv.Info().Objects {
			if o.Refs != 1 {
				t.Fatalf("object %+v: want only the surviving client's reference", o)
			}
		}
	}
}

// TestManagerKilledMidCall kills a child-process manager while a client call is
// blocked in it: the call, and every later one, fails promptly with ErrConnLost.
func TestManagerKilledMidCall(t *testing.T) {
	ctx := testCtx(t)
	m, err := mgr.Start(ctx, mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	p, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	blocked := make(chan error, 1)
	go func() {
		_, err := p.Block(ctx)
		blocked <- err
	}()
	if err := p.call0(ctx, mBlockStarted); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if err := syscall.Kill(m.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-blocked:
		if !errors.Is(err, mgr.ErrConnLost) {
			t.Fatalf("blocked call after the manager died: %v, want ErrConnLost", err)
		}
		t.Logf("blocked call failed %s after the kill: %v", time.Since(killed).Round(time.Millisecond), err)
	case <-time.After(10 * time.Second):
		t.Fatal("blocked call still waiting 10s after the manager was killed")
	}
	if _, err := p.Get(ctx); !errors.Is(err, mgr.ErrConnLost) {
		t.Fatalf("call after the manager died: %v, want ErrConnLost", err)
	}
	if err := m.Shutdown(ctx); err != nil {
		t.Logf("Shutdown of a killed manager: %v", err)
	}
}

// TestIdleClientNoticesManagerDeath: a client with no call in flight has no caller
// reading for it; its idle reader (client_read.go) must still see the connection drop,
// so Done closes and Err says why, without any call being made.
func TestIdleClientNoticesManagerDeath(t *testing.T) {
	ctx := testCtx(t)
	m, err := mgr.Start(ctx, mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	p, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Add(ctx, 1); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if err := syscall.Kill(m.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.Client().Done():
		t.Logf("idle client noticed %s after the kill: %v", time.Since(killed).Round(time.Millisecond), m.Client().Err())
	case <-time.After(10 * time.Second):
		t.Fatal("idle client's Done still open 10s after the manager was killed")
	}
	if err := m.Client().Err(); !errors.Is(err, mgr.ErrConnLost) {
		t.Fatalf("Err after the manager died: %v, want ErrConnLost", err)
	}
}

// TestIdleClientHearsGoodbye: a manager shutting down says goodbye to an idle session,
// and the client reports ErrShutdown (not a lost connection) without making a call.
func TestIdleClientHearsGoodbye(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	c, err := mgr.Connect(ctx, m.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := m.Server().Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("idle client's Done still open 10s after the manager shut down")
	}
	if err := c.Err(); !errors.Is(err, mgr.ErrShutdown) {
		t.Fatalf("Err after Shutdown: %v, want ErrShutdown", err)
	}
}

// TestStalledPeerIsBoundedAndDropped plays a peer that sends calls as fast as it can and
// never reads a reply. The manager stops reading from it once maxSessionCalls calls are
// in flight (the peer's writes then block in the kernel), keeps serving another session
// meanwhile, and ends the stalled session after the lease.
func TestStalledPeerIsBoundedAndDropped(t *testing.T) {
	const lease = 2 * time.Second
	m := startInProcess(t, mgr.Options{Lease: lease})
	srv := m.Server()
	ctx := testCtx(t)
	p, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap, baseStack, baseG := ms.HeapInuse, ms.StackInuse, runtime.NumGoroutine()

	conn, _ := rawSession(t, m)
	// 100,000 Info calls (each reply is a few hundred bytes): far more than the socket
	// buffers and the manager's per-session bound together can absorb.
	const calls = 100_000
	var stream []byte
	for i := range calls {
		stream = append(stream, frameOf(callPayload(uint64(i+1), wire.ControlObject, wire.CtlInfo, 0, nil))...)
	}
	wrote := make(chan error, 1)
	go func() {
		_, err := conn.Write(stream)
		wrote <- err
	}()

	// While the peer is stalled, another session's calls go on; sample the manager's
	// goroutines and memory meanwhile.
	var maxG int
	var maxHeap, maxStack uint64
	var good int
	var writeErr error
	start := time.Now()
loop:
	for {
		select {
		case writeErr = <-wrote:
			break loop
		default:
		}
		if time.Since(start) > 30*time.Second {
			t.Fatal("the stalled session was not ended within 30s")
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if _, err := p.Add(cctx, 1); err != nil {
			t.Fatalf("other session's call during the stall: %v", err)
		}
		cancel()
		good++
		maxG = max(maxG, runtime.NumGoroutine())
		runtime.ReadMemStats(&ms)
		maxHeap, maxStack = max(maxHeap, ms.HeapInuse), max(maxStack, ms.StackInuse)
	}
	took := time.Since(start)
	t.Logf("stalled peer: write ended after %s (%v); %d calls of another session succeeded meanwhile", took.Round(time.Millisecond), writeErr, good)
	t.Logf("peak: goroutines %d (baseline %d), heap in use +%d KiB, stacks +%d KiB", maxG, baseG,
		(int64(maxHeap)-int64(baseHeap))>>10, (int64(maxStack)-int64(baseStack))>>10)
	if writeErr == nil {
		t.Fatalf("the manager read all %d calls of a peer that reads no reply: no backpressure", calls)
	}
	// The manager runs at most 4096 calls per session; a few goroutines more are the
	// sessions' own and this test's.
	if maxG > baseG+4096+32 {
		t.Fatalf("peak goroutines %d, baseline %d: the stalled session was not bounded", maxG, baseG)
	}
	if grow := int64(maxHeap) - int64(baseHeap) + int64(maxStack) - int64(baseStack); grow > 256<<20 {
		t.Fatalf("the stalled session grew the manager's memory by %d MiB", grow>>20)
	}
	waitUntil(t, "the stalled session to end", 20*time.Second, func() bool { return srv.NumSessions() == 1 })
	waitUntil(t, "goroutines back to the baseline", 20*time.Second, func() bool { return runtime.NumGoroutine() <= baseG+goroutineSlack })
	if got, err := p.Get(ctx); err != nil || got != int64(good) {
		t.Fatalf("count = %d, %v; want %d", got, err, good)
	}
}

// TestPeerThatStopsReadingIsDropped: replies to a peer that pings (so its lease never
// runs out) but stops reading pile up only until the write stall deadline (the lease)
// ends the session.
func TestPeerThatStopsReadingIsDropped(t *testing.T) {
	// No resume window: what is tested is that the stalled write ends the connection; a
	// session whose connection broke would otherwise wait 10 s more for its client (alive:
	// this process) to come back, which under -race on a loaded machine ran past the wait.
	m := startInProcess(t, mgr.Options{Lease: time.Second, ResumeWindow: -1})
	p, err := createCounter(context.Background(), m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	conn, _ := rawSession(t, m)
	// 3,000 calls of 4 KiB replies: they overflow the socket buffers, but they stay under
	// the per-session bound, so the read loop keeps reading and only the write deadline
	// can end the session.
	var stream []byte
	for i := range 3_000 {
		stream = append(stream, frameOf(callPayload(uint64(i+1), p.ObjectID(), mFill, 0, func(e *mgr.Encoder) { e.Int64(4 << 10) }))...)
	}
	// Keep the session alive with pings (the lease alone cannot end it) but never read.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		conn.Write(stream)
		ping := frameOf([]byte{wire.KindPing})
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			conn.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
			if _, err := conn.Write(ping); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue // the manager stopped reading; it will end the session
				}
				return
			}
		}
	})
	defer func() { close(stop); wg.Wait() }()
	waitUntil(t, "the session to begin", 20*time.Second, func() bool { return m.Server().NumSessions() == 2 })
	waitUntil(t, "the manager to end the session of a peer that stopped reading", 20*time.Second, func() bool {
		return m.Server().NumSessions() == 1
	})
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	io.Copy(io.Discard, conn) // the manager closed it: the copy ends
}

// TestAcceptSurvivesDescriptorExhaustion runs the process out of file descriptors while
// connections arrive: the manager's accept fails with EMFILE, backs off, and accepts
// again once descriptors are free, instead of stopping serving for good.
func TestAcceptSurvivesDescriptorExhaustion(t *testing.T) {
	var logs logCapture
	m := startInProcess(t, mgr.Options{Logf: logs.logf})
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Skip(err)
	}
	lim := old
	lim.Cur = uint64(openFDs(t) + 8)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip(err)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)
		}
	}
	defer restore()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// Dial until this process has no descriptor left; then free one of ours and dial
	// again, so a connection is pending that the manager cannot accept (EMFILE).
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial(m.Address().Network, m.Address().Addr)
		if err != nil {
			if !errors.Is(err, syscall.EMFILE) {
				restore()
				t.Fatalf("dial: %v", err)
			}
			break
		}
		conns = append(conns, c)
		if time.Now().After(deadline) || len(conns) > 1000 {
			restore()
			t.Fatalf("%d connections and no EMFILE", len(conns))
		}
	}
	if len(conns) > 0 {
		conns[0].Close()
		conns = conns[1:]
	}
	if c, err := net.Dial(m.Address().Network, m.Address().Addr); err == nil {
		conns = append(conns, c)
	}
	// The manager logs the failed accept (an unfixed manager stopped serving instead,
	// which the Connect below shows).
	for !strings.Contains(logs.String(), "accept:") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	restore()
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := m.Options()
	opts.HandshakeTimeout = 5 * time.Second
	c, err := mgr.Connect(ctx, opts)
	if err != nil {
		t.Fatalf("connect after descriptor exhaustion: %v\n%s", err, &logs)
	}
	defer c.Close()
	if _, err := createCounter(ctx, c, 1); err != nil {
		t.Fatal(err)
	}
	t.Logf("accept failures logged: %d", strings.Count(logs.String(), "accept:"))
}
