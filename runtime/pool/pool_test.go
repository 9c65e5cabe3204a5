package pool_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/pool"
)

// The functions the tests' pools run, registered in every process (the workers are this
// test binary).
var (
	square = pool.Register("test.square", func(_ context.Context, x int) (int, error) { return x * x, nil })
	oddErr = pool.Register("test.oddErr", func(_ context.Context, x int) (int, error) {
		if x%2 == 1 {
			return 0, fmt.Errorf("odd %d", x)
		}
		return x, nil
	})
	// panicky panics on multiples of 3 and fails on x%3 == 1 (the result of a failed
	// item must be the zero value, not what a reused buffer held from another chunk).
	panicky = pool.Register("test.panicky", func(_ context.Context, x int) (int, error) {
		switch x % 3 {
		case 0:
			panic(fmt.Sprintf("three divides %d", x))
		case 1:
			return 0, fmt.Errorf("one more than a multiple of three: %d", x)
		}
		return x + 1000, nil
	})
	// repeat takes the reflective path of the codec (string slices of strings).
	repeat = pool.Register("test.repeat", func(_ context.Context, s []string) (string, error) {
		return strings.Join(s, "+"), nil
	})
	pid = pool.Register("test.pid", func(_ context.Context, _ int) (int, error) { return os.Getpid(), nil })
	// exitOn exits the worker process on the item whose X is Exit, if Marker (a file)
	// exists; it removes the file first, so a retry succeeds.
	exitOn = pool.Register("test.exitOn", func(_ context.Context, a crashArg) (int, error) {
		if a.X == a.Exit {
			if a.Marker == "" {
				os.Exit(3)
			}
			if os.Remove(a.Marker) == nil {
				os.Exit(3)
			}
		}
		return a.X * 10, nil
	})
	// block writes its worker's pid to the file it is given (if any) and blocks until
	// the worker dies.
	block = pool.Register("test.block", func(ctx context.Context, pidFile string) (int, error) {
		if pidFile != "" {
			if err := os.WriteFile(pidFile+".tmp", []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
				return 0, err
			}
			if err := os.Rename(pidFile+".tmp", pidFile); err != nil {
				return 0, err
			}
		}
		<-ctx.Done()
		return 0, ctx.Err()
	})
)

type crashArg struct {
	X, Exit int
	Marker  string
}

// usePool is a worker that uses a pool it got as a proxy: another process submitting to
// the pool, as with Python's manager.Pool().
func usePool(ctx context.Context, w *mgr.WorkerEnv) error {
	p, err := mgr.AttachArg(ctx, w, 0, pool.AttachPool)
	if err != nil {
		return err
	}
	xs := make([]int, 500)
	for i := range xs {
		xs[i] = i
	}
	got, err := pool.Map(ctx, p, pool.Named[int, int]("test.square"), xs)
	if err != nil {
		return err
	}
	for i, v := range got {
		if v != i*i {
			return fmt.Errorf("Map through the proxy: item %d = %d", i, v)
		}
	}
	n := 0
	for v, err := range pool.Imap(ctx, p, square, xs[:50]) {
		if err != nil || v != n*n {
			return fmt.Errorf("Imap through the proxy: item %d = %d, %v", n, v, err)
		}
		n++
	}
	if n != 50 {
		return fmt.Errorf("Imap through the proxy yielded %d items", n)
	}
	return nil
}

func init() { mgr.RegisterWorker("test.usePool", usePool) }

func TestMain(m *testing.M) {
	mgr.RunChild()
	if os.Getenv("POOL_TEST_OWNER") != "" {
		os.Exit(runOwner())
	}
	os.Exit(m.Run())
}

// runOwner is the program TestShutdownWithOwner kills: a manager child, a pool of two
// workers, and a task in flight. It prints the PIDs and waits to be killed.
func runOwner() int {
	ctx := context.Background()
	m, err := mgr.Start(ctx, mgr.Options{})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	o, err := pool.Start(ctx, m.Client(), pool.Options{Workers: 2})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	if _, err := pool.ApplyAsync(ctx, o, block, ""); err != nil {
		fmt.Println("error", err)
		return 1
	}
	pids := append([]int{m.PID()}, o.PIDs()...)
	fmt.Println("pids", strings.Trim(fmt.Sprint(pids), "[]"))
	select {}
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startPool serves a manager in this process and starts a pool on it.
func startPool(t testing.TB, opts pool.Options) (*mgr.Manager, *pool.Owner) {
	t.Helper()
	ctx := testCtx(t)
	m, err := mgr.StartInProcess(mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	o, err := pool.Start(ctx, m.Client(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Terminate(context.Background()) })
	return m, o
}

func ints(n int) []int {
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	return xs
}

func TestMapOrdered10000(t *testing.T) {
	ctx := testCtx(t)
	_, o := startPool(t, pool.Options{Workers: 2})
	for _, opts := range [][]pool.CallOption{nil, {pool.Chunksize(7)}} {
		got, err := pool.Map(ctx, o, square, ints(10000), opts...)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 10000 {
			t.Fatalf("Map returned %d results", len(got))
		}
		for i, v := range got {
			if v != i*i {
				t.Fatalf("item %d = %d, want %d", i, v, i*i)
			}
		}
	}
}

func TestApplyAsyncAndErrors(t *testing.T) {
	ctx := testCtx(t)
	_, o := startPool(t, pool.Options{Workers: 2})
	if v, err := pool.Apply(ctx, o, square, 12); err != nil || v != 144 {
		t.Fatalf("Apply = %d, %v; want 144", v, err)
	}
	a, err := pool.ApplyAsync(ctx, o, square, 5)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := a.Get(ctx); err != nil || v != 25 || !a.Ready() {
		t.Fatalf("ApplyAsync.Get = %d, %v (ready %v)", v, err, a.Ready())
	}
	ma, err := pool.MapAsync(ctx, o, square, ints(100), pool.Chunksize(3))
	if err != nil {
		t.Fatal(err)
	}
	vs, err := ma.Get(ctx)
	if err != nil || len(vs) != 100 || vs[99] != 99*99 {
		t.Fatalf("MapAsync = %v, %v", vs, err)
	}

	got, err := pool.Map(ctx, o, oddErr, ints(10), pool.Chunksize(3))
	var te *pool.TaskError
	if !errors.As(err, &te) || te.Index != 1 || te.Err.Error() != "odd 1" {
		t.Fatalf("Map with failing items: err = %v, want the *TaskError of item 1", err)
	}
	if got[4] != 4 || got[8] != 8 {
		t.Fatalf("results of the items that succeeded: %v", got)
	}
	if _, err := pool.Apply(ctx, o, pool.Named[int, int]("test.nobody"), 1); !errors.Is(err, pool.ErrUnknownFunc) {
		t.Fatalf("Apply of an unregistered function: %v, want ErrUnknownFunc", err)
	}
	if _, err := pool.Apply(ctx, o, pool.Named[string, int]("test.square"), "x"); err == nil || !strings.Contains(err.Error(), "decode") {
		t.Fatalf("Apply with the wrong argument type: %v, want a decoding error", err)
	}
}

// A panic fails its item only: the rest of the chunk runs, in the same worker, and a
// failed item's result is the zero value in every chunk (the worker reuses its buffers
// from chunk to chunk).
func TestPanicsAndErrorsFailTheirItemsOnly(t *testing.T) {
	ctx := testCtx(t)
	_, o := startPool(t, pool.Options{Workers: 2})
	for round := range 2 {
		got, err := pool.Map(ctx, o, panicky, ints(40), pool.Chunksize(7))
		var te *pool.TaskError
		if !errors.As(err, &te) || te.Index != 0 || !strings.Contains(te.Err.Error(), "panic: three divides 0") {
			t.Fatalf("round %d: err = %v, want the panic of item 0", round, err)
		}
		for x, v := range got {
			want := 0
			if x%3 == 2 {
				want = x + 1000
			}
			if v != want {
				t.Fatalf("round %d: item %d = %d, want %d (all: %v)", round, x, v, want, got)
			}
		}
	}
	var vals []int
	nerr := 0
	for v, err := range pool.Imap(ctx, o, panicky, ints(6), pool.Chunksize(6)) {
		vals = append(vals, v)
		if err != nil {
			nerr++
		}
	}
	if want := []int{0, 0, 1002, 0, 0, 1005}; !slices.Equal(vals, want) || nerr != 4 {
		t.Fatalf("Imap = %v with %d errors, want %v with 4", vals, nerr, want)
	}
	in := [][]string{{"a"}, {"b", "c"}, nil, {"d", "e", "f"}, {}}
	got, err := pool.Map(ctx, o, repeat, in, pool.Chunksize(2))
	if want := []string{"a", "b+c", "", "d+e+f", ""}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("Map of [][]string = %q, %v; want %q", got, err, want)
	}
}

func TestImap(t *testing.T) {
	ctx := testCtx(t)
	_, o := startPool(t, pool.Options{Workers: 2})
	var got []int
	for v, err := range pool.Imap(ctx, o, square, ints(300), pool.Chunksize(4)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	for i, v := range got {
		if v != i*i {
			t.Fatalf("Imap item %d = %d", i, v)
		}
	}
	if len(got) != 300 {
		t.Fatalf("Imap yielded %d items", len(got))
	}
	seen := make([]bool, 300)
	for r, err := range pool.ImapUnordered(ctx, o, square, ints(300)) {
		if err != nil || r.Value != r.Index*r.Index || seen[r.Index] {
			t.Fatalf("ImapUnordered: %+v, %v", r, err)
		}
		seen[r.Index] = true
	}
	if i := slices.Index(seen, false); i >= 0 {
		t.Fatalf("ImapUnordered never yielded item %d", i)
	}
	// Breaking out early cancels the rest; the pool goes on.
	n := 0
	for range pool.Imap(ctx, o, square, ints(5000)) {
		if n++; n == 3 {
			break
		}
	}
	if v, err := pool.Apply(ctx, o, square, 3); err != nil || v != 9 {
		t.Fatalf("Apply after an abandoned Imap = %d, %v", v, err)
	}
}

func TestWorkerExitFailsTask(t *testing.T) {
	ctx := testCtx(t)
	_, o := startPool(t, pool.Options{Workers: 2})
	args := make([]crashArg, 20)
	for i := range args {
		args[i] = crashArg{X: i, Exit: 7}
	}
	got, err := pool.Map(ctx, o, exitOn, args, pool.Chunksize(1))
	var te *pool.TaskError
	if !errors.Is(err, pool.ErrWorkerDied) || !errors.As(err, &te) || te.Index != 7 {
		t.Fatalf("Map with a task that exits its worker: %v, want ErrWorkerDied for item 7", err)
	}
	t.Logf("the error: %v", err)
	for i, v := range got {
		if i != 7 && v != i*10 {
			t.Fatalf("item %d = %d, want %d", i, v, i*10)
		}
	}
	// The pool replaced the worker and goes on.
	if vs, err := pool.Map(ctx, o, square, ints(1000)); err != nil || vs[999] != 999*999 {
		t.Fatalf("Map after the crash: %v", err)
	}
	// The replacement is started when the owner sees the worker exit, which may come
	// after the Map above was served by the survivor.
	waitFor(t, func() bool { return o.Restarts() >= 1 })
}

func TestWorkerExitRetried(t *testing.T) {
	ctx := testCtx(t)
	_, o := startPool(t, pool.Options{Workers: 2})
	marker := filepath.Join(t.TempDir(), "crash-once")
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	args := make([]crashArg, 20)
	for i := range args {
		args[i] = crashArg{X: i, Exit: 5, Marker: marker}
	}
	got, err := pool.Map(ctx, o, exitOn, args, pool.Chunksize(2), pool.Retries(1))
	if err != nil {
		t.Fatalf("Map with Retries(1): %v", err)
	}
	for i, v := range got {
		if v != i*10 {
			t.Fatalf("item %d = %d", i, v)
		}
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatal("the task never crashed its worker")
	}
}

func TestWorkerKilledMidTask(t *testing.T) {
	ctx := testCtx(t)
	_, o := startPool(t, pool.Options{Workers: 2})
	pidFile := filepath.Join(t.TempDir(), "pid")
	a, err := pool.ApplyAsync(ctx, o, block, pidFile)
	if err != nil {
		t.Fatal(err)
	}
	var victim int
	waitFor(t, func() bool {
		b, err := os.ReadFile(pidFile)
		victim, _ = strconv.Atoi(string(b))
		return err == nil
	})
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx); !errors.Is(err, pool.ErrWorkerDied) {
		t.Fatalf("a task whose worker was killed: %v, want ErrWorkerDied", err)
	}
	if vs, err := pool.Map(ctx, o, square, ints(100)); err != nil || vs[99] != 99*99 {
		t.Fatalf("Map after the kill: %v", err)
	}
	// Replaced once the owner sees it exit, which the Map above need not wait for.
	waitFor(t, func() bool { return o.Restarts() >= 1 && !slices.Contains(o.PIDs(), victim) })
}

func TestMaxTasksPerChild(t *testing.T) {
	ctx := testCtx(t)
	_, o := startPool(t, pool.Options{Workers: 2, MaxTasksPerChild: 3})
	got, err := pool.Map(ctx, o, pid, ints(30), pool.Chunksize(1))
	if err != nil {
		t.Fatal(err)
	}
	perPID := map[int]int{}
	for _, p := range got {
		perPID[p]++
	}
	for p, n := range perPID {
		if n > 3 {
			t.Fatalf("worker %d ran %d tasks, more than MaxTasksPerChild 3", p, n)
		}
	}
	if len(perPID) < 10 || o.Restarts() < 8 {
		t.Fatalf("%d workers ran the 30 tasks, %d restarts; want at least 10 and 8", len(perPID), o.Restarts())
	}
}

func TestProxyFromAnotherProcess(t *testing.T) {
	ctx := testCtx(t)
	m, o := startPool(t, pool.Options{Workers: 2})
	p, err := m.Spawn(ctx, "test.usePool", o.Proxy())
	if err != nil {
		t.Fatal(err)
	}
	if code, err := p.Wait(ctx); code != 0 || err != nil {
		t.Fatalf("the process using the pool through its proxy: exit %d, %v", code, err)
	}
}

func TestCloseAndTerminate(t *testing.T) {
	ctx := testCtx(t)
	m, o := startPool(t, pool.Options{Workers: 2})
	a, err := pool.MapAsync(ctx, o, square, ints(2000), pool.Chunksize(1))
	if err != nil {
		t.Fatal(err)
	}
	pids := o.PIDs()
	if err := o.Close(ctx); err != nil { // queued tasks still run
		t.Fatal(err)
	}
	if vs, err := a.Get(ctx); err != nil || vs[1999] != 1999*1999 {
		t.Fatalf("tasks queued before Close: %v", err)
	}
	for _, pid := range pids {
		waitGone(t, pid)
	}
	// Releases do not wait for the manager: they go with the client's next call.
	if _, err := m.Client().Info(ctx); err != nil {
		t.Fatal(err)
	}
	// A worker's session ends when the manager reads its goodbye, which may come after
	// the process is gone (waitGone): until then the session holds its reference to the
	// pool (seen once in 15 runs on a loaded machine).
	waitFor(t, func() bool { return m.Server().NumObjects() == 0 })

	o2, err := pool.Start(ctx, m.Client(), pool.Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	b, err := pool.ApplyAsync(ctx, o2, block, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := o2.Terminate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx); !errors.Is(err, pool.ErrTerminated) {
		t.Fatalf("a task running at Terminate: %v, want ErrTerminated", err)
	}
	if _, err := pool.Apply(ctx, o2, square, 1); err == nil {
		t.Fatal("Apply after Terminate succeeded")
	}
}

func TestShutdownWithOwner(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "POOL_TEST_OWNER=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "pids ") {
		t.Fatalf("owner printed %q, %v", line, err)
	}
	var pids []int
	for _, f := range strings.Fields(line)[1:] {
		n, _ := strconv.Atoi(f)
		pids = append(pids, n)
	}
	if len(pids) != 3 {
		t.Fatalf("owner printed %q: want the manager's and 2 workers' pids", line)
	}
	cmd.Process.Kill() // kill -9 the owner: its manager and workers must go with it
	cmd.Wait()
	for _, pid := range pids {
		waitGone(t, pid)
	}
}

// waitGone waits until process pid has exited (or is a zombie nobody reaps).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	waitFor(t, func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return syscall.Kill(pid, 0) == syscall.ESRCH
		}
		// "pid (comm) S ...": the state follows the last ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		return i > 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
	})
}

// waitFor polls cond (there is no event to wait on for another process's state) until it
// holds, failing after 20 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
