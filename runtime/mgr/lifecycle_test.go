package mgr_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// waitUntil polls cond until it holds or the generous deadline passes, and fails loudly
// then. It waits for a condition, never for "long enough".
func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitInfo polls a manager's introspection (get: Server.Info, or Client.Info for a
// manager in another process) until cond holds or the generous deadline passes, and then
// fails with the last Info it saw. It is for the manager's bookkeeping that follows an
// event asynchronously — a session ends, the references it held are dropped — which the
// runtime announces on no channel.
func waitInfo(t *testing.T, what string, get func() (mgr.Info, error), cond func(mgr.Info) bool) {
	t.Helper()
	const timeout = 20 * time.Second
	deadline := time.Now().Add(timeout)
	for {
		info, err := get()
		if err != nil {
			t.Fatalf("waiting for %s: Info: %v", what, err)
		}
		if cond(info) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last seen: %+v", timeout, what, info)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// serverInfo is waitInfo's get for an in-process manager.
func serverInfo(srv *mgr.Server) func() (mgr.Info, error) {
	return func() (mgr.Info, error) { return srv.Info(), nil }
}

func TestChildManagerLifecycle(t *testing.T) {
	ctx := testCtx(t)
	m, err := mgr.Start(ctx, mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	if m.PID() == os.Getpid() {
		t.Fatal("manager runs in this process; want a child")
	}
	if m.Address().Network != "unix" {
		t.Fatalf("default address %s, want a Unix socket", m.Address())
	}
	st, err := os.Stat(m.Address().Addr)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Fatalf("socket mode %o, want 600", perm)
	}
	p, err := createCounter(ctx, m.Client(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.Add(ctx, 41); err != nil || got != 42 {
		t.Fatalf("Add = %d, %v", got, err)
	}

	// Hand the object to a second session through a token; release the sender's proxy
	// first: the token keeps the object alive until it is attached.
	tok, err := p.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	parsed, err := mgr.ParseToken(tok.String())
	if err != nil || parsed != tok {
		t.Fatalf("token round trip: %v, %v", parsed, err)
	}
	c2, err := mgr.Connect(ctx, m.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	h, err := c2.Attach(ctx, parsed)
	if err != nil {
		t.Fatal(err)
	}
	p2 := &counterProxy{mgr.MakeProxyBase(h)}
	if got, err := p2.Get(ctx); err != nil || got != 42 {
		t.Fatalf("Get through attached proxy = %d, %v", got, err)
	}
	if _, err := c2.Attach(ctx, parsed); !errors.Is(err, mgr.ErrBadToken) {
		t.Fatalf("second attach: %v, want ErrBadToken", err)
	}

	info, err := m.Client().Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Objects) != 1 || info.Objects[0].TypeID != counterTypeID || info.Objects[0].Refs != 1 ||
		len(info.Objects[0].Holders) != 1 || info.Objects[0].Holders[0].Session != c2.SessionID() {
		t.Fatalf("info objects = %+v, want one counter held once by session %d", info.Objects, c2.SessionID())
	}
	if len(info.Sessions) != 2 {
		t.Fatalf("info sessions = %+v, want 2", info.Sessions)
	}

	// Closing the second session drops its reference, and the object goes.
	c2.Close()
	if _, err := p2.Get(ctx); !errors.Is(err, mgr.ErrClientClosed) {
		t.Fatalf("call through a closed client: %v, want ErrClientClosed", err)
	}
	waitUntil(t, "the closed session's object to go", 10*time.Second, func() bool {
		info, err := m.Client().Info(ctx)
		return err == nil && len(info.Objects) == 0 && len(info.Sessions) == 1
	})

	p3, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.Exited():
	case <-ctx.Done():
		t.Fatal("manager child did not exit after Shutdown")
	}
	if err := m.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if _, err := p3.Get(ctx); !errors.Is(err, mgr.ErrShutdown) {
		t.Fatalf("call after shutdown: %v", err)
	}
}

func TestNamedObjectsAndInitializer(t *testing.T) {
	ctx := testCtx(t)
	m, err := mgr.Start(ctx, mgr.Options{Initializer: "test-named-counter"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	h, err := m.Client().Lookup(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	p := &counterProxy{mgr.MakeProxyBase(h)}
	if got, err := p.Get(ctx); err != nil || got != 7 {
		t.Fatalf("named counter = %d, %v; want 7 from the initializer", got, err)
	}
	// Releasing every reference leaves a named object in place.
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	h, err = m.Client().Lookup(ctx, "shared")
	if err != nil {
		t.Fatalf("lookup after release: %v", err)
	}
	if _, err := m.Client().Lookup(ctx, "missing"); !errors.Is(err, mgr.ErrUnknownObject) {
		t.Fatalf("lookup of a missing name: %v", err)
	}
	_ = h
}

func init() {
	mgr.RegisterInitializer("test-named-counter", func(s *mgr.Server) error {
		return s.AddNamed("shared", counterTypeID, &counter{n: 7, started: make(chan struct{})})
	})
}

func TestStartOutsideRunChildIsAClearError(t *testing.T) {
	t.Setenv("MGR_ROLE", "manager")
	_, err := mgr.Start(context.Background(), mgr.Options{})
	if err == nil || !strings.Contains(err.Error(), "mgr.RunChild()") {
		t.Fatalf("Start in a child without RunChild: %v", err)
	}
}

// processGone reports whether pid has exited (a zombie counts as exited).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func TestChildManagerExitsWhenParentIsKilled(t *testing.T) {
	ctx := testCtx(t)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperRoleEnv+"=start-manager-and-wait")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("helper said nothing: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(line), "manager-pid "))
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("helper said %q", line)
	}
	if processGone(pid) {
		t.Fatal("manager child is not running")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	waitUntil(t, "the orphaned manager to exit", 10*time.Second, func() bool { return processGone(pid) })
}

func helperStartManagerAndWait() int {
	m, err := mgr.Start(context.Background(), mgr.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("manager-pid %d\n", m.PID())
	select {} // until killed
}

func TestShutdownWithCallsInFlight(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{DrainTimeout: 30 * time.Second})
	p, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	blockDone := make(chan error, 1)
	go func() {
		_, err := p.Block(ctx)
		blockDone <- err
	}()
	if err := p.call0(ctx, mBlockStarted); err != nil {
		t.Fatal(err)
	}
	other, err := mgr.Connect(ctx, m.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	// Shutdown drains: it waits for the blocked call until its own deadline, then cancels
	// it; meanwhile new calls are refused with ErrShutdown.
	sctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	shutdownDone := make(chan error, 1)
	go func() { shutdownDone <- m.Server().Shutdown(sctx) }()

	op := &counterProxy{mgr.MakeProxyBase(mustCreate(t, ctx, other))}
	_ = op
	select {
	case err := <-shutdownDone:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Shutdown hung")
	}
	select {
	case err := <-blockDone:
		// The call either saw its cancellation reply or the shut-down notice; never a hang.
		if err != nil && !errors.Is(err, mgr.ErrShutdown) {
			t.Fatalf("blocked call ended with %v, want a reply or ErrShutdown", err)
		}
	case <-ctx.Done():
		t.Fatal("blocked call hung through shutdown")
	}
	if _, err := p.Get(ctx); !errors.Is(err, mgr.ErrShutdown) {
		t.Fatalf("call after shutdown: %v, want ErrShutdown", err)
	}
	if err := m.Server().Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

// mustCreate tries to create a counter while the manager may be shutting down and
// returns the handle, or nil once the manager refuses with ErrShutdown.
func mustCreate(t *testing.T, ctx context.Context, c *mgr.Client) *mgr.Handle {
	t.Helper()
	h, err := c.Create(ctx, counterTypeID, func(e *mgr.Encoder) { e.Int64(0) })
	if err != nil && !errors.Is(err, mgr.ErrShutdown) {
		t.Fatalf("create during shutdown: %v, want success or ErrShutdown", err)
	}
	return h
}
