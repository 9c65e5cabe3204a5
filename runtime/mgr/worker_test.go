package mgr_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Worker entry functions of the tests. The test binary re-executes itself for each
// worker (TestMain calls mgr.RunChild), so they are registered from init.
func init() {
	// add: Add(n) to the counter in argument 0, n times 1, then report nothing.
	mgr.RegisterWorker("add", func(ctx context.Context, w *mgr.WorkerEnv) error {
		c, err := mgr.AttachArg(ctx, w, 0, attachCounter)
		if err != nil {
			return err
		}
		n, err := mgr.WorkerArg[int](w, 1)
		if err != nil {
			return err
		}
		for range n {
			if _, err := c.Add(ctx, 1); err != nil {
				return err
			}
		}
		return nil
	})
	mgr.RegisterWorker("fail", func(ctx context.Context, w *mgr.WorkerEnv) error {
		return fmt.Errorf("worker gave up: %w", errTooBig)
	})
	mgr.RegisterWorker("panic", func(ctx context.Context, w *mgr.WorkerEnv) error {
		panic("worker boom")
	})
	// block: run until cancelled.
	mgr.RegisterWorker("block", func(ctx context.Context, w *mgr.WorkerEnv) error {
		<-ctx.Done()
		return ctx.Err()
	})
	// args: check the argument accessors from inside a worker; arguments are a proxy, a
	// struct, and a string.
	mgr.RegisterWorker("args", func(ctx context.Context, w *mgr.WorkerEnv) error {
		if w.NumArgs() != 3 || w.Name() != "args" {
			return fmt.Errorf("NumArgs = %d, Name = %q", w.NumArgs(), w.Name())
		}
		if _, err := mgr.WorkerArg[int](w, 0); err == nil || !strings.Contains(err.Error(), "is a proxy") {
			return fmt.Errorf("WorkerArg on a proxy: %v", err)
		}
		if _, err := mgr.AttachArg(ctx, w, 1, attachCounter); err == nil || !strings.Contains(err.Error(), "plain value") {
			return fmt.Errorf("AttachArg on a value: %v", err)
		}
		if _, err := mgr.WorkerArg[int](w, 3); err == nil {
			return errors.New("WorkerArg out of range succeeded")
		}
		c1, err := mgr.AttachArg(ctx, w, 0, attachCounter)
		if err != nil {
			return err
		}
		// The token attaches once; asking again gives the same proxy.
		if c2, err := mgr.AttachArg(ctx, w, 0, attachCounter); err != nil || c2 != c1 {
			return fmt.Errorf("second AttachArg = %v, %v", c2, err)
		}
		type point = struct{ X, Y int } // the type Spawn was given
		if p, err := mgr.WorkerArg[point](w, 1); err != nil || p != (point{3, 4}) {
			return fmt.Errorf("WorkerArg[point] = %v, %v", p, err)
		}
		s, err := mgr.WorkerArg[string](w, 2)
		if err != nil {
			return err
		}
		_, err = c1.Add(ctx, int64(len(s)))
		return err
	})
	// orphan-parent spawns orphan-child with argument 0 (a FIFO path) and waits to be
	// killed.
	mgr.RegisterWorker("orphan-parent", func(ctx context.Context, w *mgr.WorkerEnv) error {
		fifo, err := mgr.WorkerArg[string](w, 0)
		if err != nil {
			return err
		}
		if _, err := w.Client().Spawn(ctx, "orphan-child", fifo); err != nil {
			return err
		}
		<-ctx.Done()
		return nil
	})
	// orphan-child holds the FIFO open for writing until it exits, so the test sees EOF
	// exactly when this process is gone.
	mgr.RegisterWorker("orphan-child", func(ctx context.Context, w *mgr.WorkerEnv) error {
		fifo, err := mgr.WorkerArg[string](w, 0)
		if err != nil {
			return err
		}
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		<-ctx.Done()
		return ctx.Err()
	})
}

// attachCounter is the AttachX function mgrgen would generate for counter.
func attachCounter(ctx context.Context, c *mgr.Client, tok mgr.Token) (*counterProxy, error) {
	h, err := c.Attach(ctx, tok)
	if err != nil {
		return nil, err
	}
	return &counterProxy{mgr.MakeProxyBase(h)}, nil
}

func startChildManager(t *testing.T) *mgr.Manager {
	t.Helper()
	m, err := mgr.Start(testCtx(t), mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	return m
}

func spawn(t *testing.T, m *mgr.Manager, name string, args ...any) *mgr.Process {
	t.Helper()
	p, err := m.Spawn(testCtx(t), name, args...)
	if err != nil {
		t.Fatalf("Spawn(%q): %v", name, err)
	}
	t.Cleanup(func() { p.Kill() })
	return p
}

func TestWorkersShareACounter(t *testing.T) {
	ctx := testCtx(t)
	m := startChildManager(t)
	counter, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	const workers, adds = 3, 50
	var procs []*mgr.Process
	for range workers {
		procs = append(procs, spawn(t, m, "add", counter, adds))
	}
	for _, p := range procs {
		if code, err := p.Wait(ctx); code != 0 || err != nil {
			t.Fatalf("worker %d: exit %d, %v", p.PID(), code, err)
		}
	}
	if got, err := counter.Get(ctx); err != nil || got != workers*adds {
		t.Fatalf("counter = %d, %v; want %d", got, err, workers*adds)
	}
	// The workers' sessions ended with them, taking their references along: only ours
	// is left. The manager notices a session end on its own time, after Wait returned.
	waitInfo(t, "only our session left after the workers exited", func() (mgr.Info, error) { return m.Client().Info(ctx) },
		func(info mgr.Info) bool { return len(info.Sessions) == 1 })
}

func TestWorkerArguments(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	counter, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	p := spawn(t, m, "args", counter, struct{ X, Y int }{3, 4}, "hello")
	// The token keeps the object alive for the worker: we may let go at once.
	if err := counter.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if code, err := p.Wait(ctx); code != 0 || err != nil {
		t.Fatalf("exit %d, %v", code, err)
	}
	// The worker released its reference by exiting, so the counter goes. Not at once:
	// Wait returns when the worker process has exited, and the manager drops the
	// references of its session when it notices the connection end, on its own time.
	waitInfo(t, "the counter to go after the worker exited", serverInfo(m.Server()), func(info mgr.Info) bool {
		return len(info.Objects) == 0
	})
}

func TestWorkerError(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	code, err := spawn(t, m, "fail").Wait(ctx)
	var we *mgr.WorkerError
	if code != 1 || !errors.As(err, &we) || !errors.Is(err, errTooBig) || we.Msg != "worker gave up: counter: too big" {
		t.Fatalf("Wait = %d, %v; want 1 and the worker's errTooBig", code, err)
	}
	// Wait again: same answer.
	if code2, err2 := spawn(t, m, "fail").Wait(ctx); code2 != code || err2.Error() == "" {
		t.Fatalf("second Wait = %d, %v", code2, err2)
	}

	code, err = spawn(t, m, "panic").Wait(ctx)
	if code != 1 || !errors.As(err, &we) || we.Msg != "panic: worker boom" || !strings.Contains(we.Stack, "goroutine") {
		t.Fatalf("panicking worker: %d, %v", code, err)
	}
}

func TestWorkerKillAndCancel(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})

	p := spawn(t, m, "block")
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	code, err := p.Wait(ctx)
	var we *mgr.WorkerError
	if code != -1 || !errors.As(err, &we) || !strings.Contains(we.Msg, "killed") {
		t.Fatalf("killed worker: %d, %v", code, err)
	}
	if err := p.Kill(); err != nil {
		t.Fatalf("Kill after exit: %v", err)
	}

	p = spawn(t, m, "block")
	// A short Wait leaves the worker running.
	short, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.Wait(short); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a cancelled ctx: %v", err)
	}
	p.Cancel()
	code, err = p.Wait(ctx)
	if code != 1 || !errors.Is(err, context.Canceled) && !strings.Contains(fmt.Sprint(err), "context canceled") {
		t.Fatalf("cancelled worker: %d, %v", code, err)
	}
}

func TestSpawnErrors(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	if _, err := m.Spawn(ctx, "no-such-worker"); err == nil || !strings.Contains(err.Error(), "RegisterWorker") {
		t.Fatalf("unregistered worker: %v", err)
	}
	if _, err := m.Spawn(ctx, "block", make(chan int)); err == nil || !strings.Contains(err.Error(), "argument 0") {
		t.Fatalf("unencodable argument: %v", err)
	}
	counter, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	nested := struct{ C *counterProxy }{counter}
	if _, err := m.Spawn(ctx, "block", nested); err == nil || !strings.Contains(err.Error(), "cannot travel inside a plain value") {
		t.Fatalf("proxy inside a value: %v", err)
	}
	var nilProxy *counterProxy
	if _, err := m.Spawn(ctx, "block", nilProxy); err == nil || !strings.Contains(err.Error(), "nil proxy") {
		t.Fatalf("nil proxy: %v", err)
	}
	// A proxy of another manager cannot be handed over through this one.
	other := startInProcess(t, mgr.Options{})
	foreign, err := createCounter(ctx, other.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Spawn(ctx, "block", foreign); err == nil || !strings.Contains(err.Error(), "another manager") {
		t.Fatalf("foreign proxy: %v", err)
	}
}

// TestWorkerDiesWithParent kills a worker that has spawned a worker of its own; the
// grandchild must notice and exit.
func TestWorkerDiesWithParent(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	fifo := filepath.Join(t.TempDir(), "alive")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	parent := spawn(t, m, "orphan-parent", fifo)

	// Opening the FIFO for reading returns once the grandchild has opened it for writing.
	opened := make(chan *os.File, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			t.Error(err)
		}
		opened <- f
	}()
	var f *os.File
	select {
	case f = <-opened:
	case <-ctx.Done():
		t.Fatal("the grandchild worker never opened the FIFO")
	}
	defer f.Close()

	if err := parent.Kill(); err != nil {
		t.Fatal(err)
	}
	gone := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, f) // returns at EOF: the grandchild exited
		gone <- err
	}()
	select {
	case err := <-gone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the grandchild worker outlived its killed parent by 30s")
	}
}

func TestOptionsFromEnv(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	for _, kv := range m.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	c, err := mgr.ConnectFromEnv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := createCounter(ctx, c, 1); err != nil {
		t.Fatal(err)
	}

	t.Setenv(mgr.EnvAuthKey, "not hex")
	if _, err := mgr.OptionsFromEnv(); err == nil || !strings.Contains(err.Error(), mgr.EnvAuthKey) {
		t.Fatalf("bad key: %v", err)
	}
	t.Setenv(mgr.EnvAddress, "")
	if _, err := mgr.OptionsFromEnv(); err == nil || !strings.Contains(err.Error(), mgr.EnvAddress) {
		t.Fatalf("no address: %v", err)
	}
}
