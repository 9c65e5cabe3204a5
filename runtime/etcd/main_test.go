package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/etcd"
	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// The test binary re-executes itself as a manager or a worker process: MGRETCD_ROLE says
// which, the other variables how.
const envRole = "MGRETCD_ROLE"

var testKey = []byte("etcd-test-authkey-0123456789abcdef")

func TestMain(m *testing.M) {
	switch os.Getenv(envRole) {
	case "":
		os.Exit(m.Run())
	case "manager":
		os.Exit(runManager())
	case "worker":
		os.Exit(runWorker())
	case "holder":
		os.Exit(runHolder())
	default:
		fmt.Fprintf(os.Stderr, "unknown %s=%q\n", envRole, os.Getenv(envRole))
		os.Exit(2)
	}
}

// declareTestObjects names the objects every test manager serves.
func declareTestObjects(ctx context.Context, b *etcd.Backend) error {
	for _, d := range []struct{ name, typeID string }{
		{"q", syncmgr.QueueTypeID[int]()},
		{"d", syncmgr.DictTypeID[string, int]()},
		{"lock", syncmgr.LockTypeID},
		{"rlock", syncmgr.RLockTypeID},
		{"v", syncmgr.ValueTypeID[int]()},
		{"ev", syncmgr.EventTypeID},
		{"sem", syncmgr.SemaphoreTypeID},
		{"bsem", syncmgr.BoundedSemaphoreTypeID},
		{"barrier", syncmgr.BarrierTypeID},
		{"cond", syncmgr.ConditionTypeID},
		{"rcond", syncmgr.ConditionTypeID},
	} {
		var args func(*mgr.Encoder)
		switch d.name {
		case "q":
			args = func(e *mgr.Encoder) { e.Int64(0) }
		case "v":
			args = func(e *mgr.Encoder) { v := 0; e.Value(&v) }
		case "sem", "bsem":
			args = func(e *mgr.Encoder) { e.Int64(2) }
		case "cond":
			args = func(e *mgr.Encoder) { e.String("lock") }
		case "rcond":
			args = func(e *mgr.Encoder) { e.String("rlock") }
		case "barrier":
			args = func(e *mgr.Encoder) { e.Int64(3) }
		}
		if err := b.Declare(ctx, d.name, d.typeID, args); err != nil {
			return err
		}
	}
	return nil
}

func envConfig() etcd.Config {
	ttl, _ := time.ParseDuration(os.Getenv("MGRETCD_TTL"))
	return etcd.Config{
		Endpoints: strings.Split(os.Getenv("MGRETCD_ENDPOINTS"), ","),
		Prefix:    os.Getenv("MGRETCD_PREFIX"),
		TTL:       ttl,
	}
}

func runManager() int {
	addr, err := mgr.ParseAddress(os.Getenv("MGRETCD_ADDR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	opts := mgr.Options{Address: addr, AuthKey: testKey}
	setup := declareTestObjects
	if die := os.Getenv("MGRETCD_DIE"); die != "" {
		setup = func(ctx context.Context, b *etcd.Backend) error {
			etcd.SetTestHook(b, killAt(die))
			return declareTestObjects(ctx, b)
		}
	}
	// The manager dies with the test (Pdeathsig); ctx never ends otherwise.
	if err := etcd.Serve(context.Background(), opts, envConfig(), setup); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		return 1
	}
	return 0
}

// proc is a child process of the test.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	out  strings.Builder
}

func spawn(t testing.TB, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	p := &proc{cmd: cmd, done: make(chan struct{})}
	cmd.Stdout = &p.out
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

// killAt returns a test hook (MGRETCD_DIE="point:n") that kills the manager — SIGKILL,
// nothing said to anyone — the n-th time a queue call reaches point.
func killAt(spec string) func(context.Context, string) {
	point, nth, _ := strings.Cut(spec, ":")
	n, _ := strconv.Atoi(nth)
	var mu sync.Mutex
	seen := 0
	return func(_ context.Context, p string) {
		if p != point {
			return
		}
		mu.Lock()
		seen++
		now := seen == n
		mu.Unlock()
		if now {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
}

// startManagers starts n manager processes on etcd and waits until each answers.
func startManagers(t testing.TB, endpoints []string, prefix string, ttl time.Duration, n int) ([]*proc, []mgr.Address) {
	t.Helper()
	return startManagersEnv(t, endpoints, prefix, ttl, make([][]string, n))
}

// startManagersEnv starts a manager process per element of env, with those variables
// added to its environment, and waits until each answers.
func startManagersEnv(t testing.TB, endpoints []string, prefix string, ttl time.Duration, env [][]string) ([]*proc, []mgr.Address) {
	t.Helper()
	var ps []*proc
	var addrs []mgr.Address
	for _, e := range env {
		a := mgr.Address{Network: "tcp", Addr: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
		ps = append(ps, spawn(t, append([]string{envRole + "=manager", "MGRETCD_ADDR=" + a.String(),
			"MGRETCD_ENDPOINTS=" + strings.Join(endpoints, ","), "MGRETCD_PREFIX=" + prefix, "MGRETCD_TTL=" + ttl.String()}, e...)...))
		addrs = append(addrs, a)
	}
	for i, a := range addrs {
		waitManager(t, a, ps[i])
	}
	return ps, addrs
}

// waitManager waits until the manager at a accepts a session (it listens once its
// etcd backend is connected and its objects are declared).
func waitManager(t testing.TB, a mgr.Address, p *proc) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for backoff := 10 * time.Millisecond; ; backoff = min(2*backoff, 500*time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := mgr.Connect(ctx, mgr.Options{Address: a, AuthKey: testKey, ResumeWindow: -1})
		cancel()
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-p.done:
			t.Fatalf("manager %s exited: %v", a, p.cmd.ProcessState)
		case <-time.After(backoff):
		}
		if time.Now().After(deadline) {
			t.Fatalf("manager %s does not answer after 60 s: %v", a, err)
		}
	}
}

func connect(t testing.TB, a mgr.Address) *mgr.Client {
	t.Helper()
	c, err := mgr.Connect(testCtx(t, 30*time.Second), mgr.Options{Address: a, AuthKey: testKey, ResumeWindow: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// reconnectable says whether err means the manager is gone (connect to another).
func reconnectable(err error) bool {
	return errors.Is(err, mgr.ErrConnLost) || errors.Is(err, mgr.ErrShutdown) || errors.Is(err, mgr.ErrConnect) || errors.Is(err, mgr.ErrClientClosed)
}

func atoiEnv(name string) int {
	n, _ := strconv.Atoi(os.Getenv(name))
	return n
}

// runHolder takes the lock "lock" through the manager at MGRETCD_ADDR, says "held" on
// stdout, and waits to be killed.
func runHolder() int {
	a, err := mgr.ParseAddress(os.Getenv("MGRETCD_ADDR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	c, err := mgr.Connect(ctx, mgr.Options{Address: a, AuthKey: testKey})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	l, err := syncmgr.LookupLock(ctx, c, "lock")
	if err == nil {
		err = l.Acquire(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("held")
	select {}
}
