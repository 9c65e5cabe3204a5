package mgr_test

import (
	"context"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/testnet"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// stateLog records a client's connection states (Options.OnState).
type stateLog struct {
	mu     sync.Mutex
	states []mgr.ConnState
}

func (l *stateLog) record(s mgr.ConnState, _ error) {
	l.mu.Lock()
	l.states = append(l.states, s)
	l.mu.Unlock()
}

func (l *stateLog) has(s mgr.ConnState) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.states, s)
}

// throughLink connects a client to m with opts (its address and key filled in) through a
// TCP link the test can cut, and makes a counter through it.
func throughLink(t *testing.T, ctx context.Context, m *mgr.Manager, opts mgr.Options) (*mgr.Client, *counterProxy, *testnet.CutLink) {
	t.Helper()
	link := testnet.NewCutLink(t, m.Address().Network, m.Address().Addr)
	opts.Address = mgr.Address{Network: "tcp", Addr: link.Addr()}
	opts.AuthKey = m.AuthKey()
	c, err := mgr.Connect(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p, err := createCounter(ctx, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	return c, p, link
}

// Connections cut at random moments under load, each break far shorter than the resume
// window: every call completes exactly once and none sees an error.
func TestResumeHidesBreaks(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{Logf: t.Logf})
	var states stateLog
	c, p, link := throughLink(t, ctx, m, mgr.Options{OnState: states.record, Logf: t.Logf})

	// Calls go on until the link has been cut often enough (bounded in count).
	const goroutines, wantCuts, maxCalls = 8, 40, 200_000
	var calls atomic.Int64
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	stop := make(chan struct{})
	cutter := make(chan struct{})
	go func() {
		defer close(cutter)
		rng := rand.New(rand.NewPCG(seed, 0))
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(1+rng.IntN(5)) * time.Millisecond): // pacing the cuts
				link.Cut()
			}
		}
	}()
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for link.Cuts() < wantCuts && calls.Load() < maxCalls {
				if _, err := p.Add(ctx, 1); err != nil {
					t.Errorf("Add during the cuts: %v", err)
					return
				}
				calls.Add(1)
			}
		})
	}
	wg.Wait()
	close(stop)
	<-cutter
	n, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d calls through %d cut connections", calls.Load(), link.Cuts())
	if n != calls.Load() {
		t.Fatalf("counter = %d after %d increments: calls were lost or run twice", n, calls.Load())
	}
	if link.Cuts() == 0 || !states.has(mgr.StateDisconnected) || !states.has(mgr.StateResumed) {
		t.Fatalf("%d cuts, states %v: the test did not break the connection under load", link.Cuts(), states.states)
	}
	if c.SessionID() != m.Server().Info().Sessions[len(m.Server().Info().Sessions)-1].ID {
		t.Fatalf("the client's session changed")
	}
}

// A break longer than the window: the client's calls fail with ErrConnLost, and the
// manager ends the session and drops its references.
func TestLongBreakEndsTheSession(t *testing.T) {
	ctx := testCtx(t)
	const window = 300 * time.Millisecond
	m := startInProcess(t, mgr.Options{ResumeWindow: window})
	base := m.Server().NumObjects()
	var states stateLog
	c, p, link := throughLink(t, ctx, m, mgr.Options{ResumeWindow: window, OnState: states.record})
	link.SetDown(true)
	link.Cut()
	if _, err := p.Add(ctx, 1); !errors.Is(err, mgr.ErrConnLost) {
		t.Fatalf("call across a break longer than the window: %v, want ErrConnLost", err)
	}
	waitUntil(t, "the manager to end the session and drop its object", 20*time.Second, func() bool {
		return m.Server().NumObjects() == base
	})
	if !states.has(mgr.StateDisconnected) || c.State() != mgr.StateClosed {
		t.Fatalf("states %v, now %v", states.states, c.State())
	}
}

// helperServeForever serves a manager on MGR_TEST_ADDR with key MGR_TEST_KEY (hex) and
// the named counter "shared", until killed.
func helperServeForever() int {
	addr, err := mgr.ParseAddress(os.Getenv("MGR_TEST_ADDR"))
	if err != nil {
		return 2
	}
	key, err := hex.DecodeString(os.Getenv("MGR_TEST_KEY"))
	if err != nil {
		return 2
	}
	if err := mgr.ServeForever(context.Background(), mgr.Options{Address: addr, AuthKey: key, Initializer: "test-named-counter"}); err != nil {
		return 1
	}
	return 0
}

// A manager killed with SIGKILL and started again on the same address: an old proxy
// fails with ErrManagerRestarted — never reaches another object — and the same Client
// looks the named object up again in a new session.
func TestManagerRestartMakesProxiesStale(t *testing.T) {
	ctx := testCtx(t)
	addr := mgr.Address{Network: "unix", Addr: filepath.Join(t.TempDir(), "m.sock")}
	key := []byte("restart test key 0123456789abcdef")
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), helperRoleEnv+"=serve-forever", "MGR_TEST_ADDR="+addr.String(), "MGR_TEST_KEY="+hex.EncodeToString(key))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	connect := func(opts mgr.Options) *mgr.Client {
		var c *mgr.Client
		waitUntil(t, "the manager to serve", 20*time.Second, func() bool {
			var err error
			c, err = mgr.Connect(ctx, opts)
			return err == nil
		})
		return c
	}
	first := start()
	var states stateLog
	c := connect(mgr.Options{Address: addr, AuthKey: key, OnState: states.record})
	defer c.Close()
	h, err := c.Lookup(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	old := &counterProxy{mgr.MakeProxyBase(h)}
	if n, err := old.Add(ctx, 1); err != nil || n != 8 {
		t.Fatalf("Add before the restart: %d, %v", n, err)
	}
	tok, err := old.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	start()
	connect(mgr.Options{Address: addr, AuthKey: key}).Close() // the new run serves
	if _, err := old.Add(ctx, 1); !errors.Is(err, mgr.ErrManagerRestarted) {
		t.Fatalf("Add through a proxy of the killed run: %v, want ErrManagerRestarted", err)
	}
	if _, err := old.Add(ctx, 1); !errors.Is(err, mgr.ErrManagerRestarted) {
		t.Fatalf("Add again through it: %v, want ErrManagerRestarted", err)
	}
	if _, err := c.Attach(ctx, tok); !errors.Is(err, mgr.ErrManagerRestarted) {
		t.Fatalf("Attach of a token of the killed run: %v, want ErrManagerRestarted", err)
	}
	if _, err := c.Attach(ctx, mustParseToken(t, tok.String())); !errors.Is(err, mgr.ErrManagerRestarted) {
		t.Fatalf("Attach of that token's text form: %v, want ErrManagerRestarted", err)
	}
	h, err = c.Lookup(ctx, "shared")
	if err != nil {
		t.Fatalf("Lookup after the restart: %v", err)
	}
	if n, err := (&counterProxy{mgr.MakeProxyBase(h)}).Add(ctx, 1); err != nil || n != 8 {
		t.Fatalf("Add through the new proxy: %d, %v; want 8 (a fresh run's counter)", n, err)
	}
	waitUntil(t, "the Restarted state", 20*time.Second, func() bool { return states.has(mgr.StateRestarted) })
}

func mustParseToken(t *testing.T, s string) mgr.Token {
	t.Helper()
	tok, err := mgr.ParseToken(s)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
