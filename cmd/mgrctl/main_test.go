package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// The tests build mgrctl and run it as its own process against a manager (a child of
// this test binary) whose worker processes (this binary too) hold and wait for a lock.

func TestMain(m *testing.M) {
	mgr.RunChild()
	code := m.Run()
	if build.path != "" {
		os.RemoveAll(filepath.Dir(build.path))
	}
	os.Exit(code)
}

func init() {
	syncmgr.RegisterQueue[int]()
	// hold: acquire the Lock (arg 0), set the Event (arg 1), hold until killed.
	mgr.RegisterWorker("hold", func(ctx context.Context, w *mgr.WorkerEnv) error {
		l, err := mgr.AttachArg(ctx, w, 0, syncmgr.AttachLock)
		if err != nil {
			return err
		}
		ev, err := mgr.AttachArg(ctx, w, 1, syncmgr.AttachEvent)
		if err != nil {
			return err
		}
		if err := l.Acquire(ctx); err != nil {
			return err
		}
		if err := ev.Set(ctx); err != nil {
			return err
		}
		<-ctx.Done()
		return nil
	})
}

var build struct {
	once sync.Once
	path string
	err  error
}

// mgrctlBinary builds mgrctl once per test run.
func mgrctlBinary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "mgrctl-test")
		if err != nil {
			build.err = err
			return
		}
		build.path = filepath.Join(dir, "mgrctl")
		out, err := exec.Command("go", "build", "-o", build.path, ".").CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// mgrctl runs the binary with env and args; it returns stdout, stderr and the exit status.
func mgrctl(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, mgrctlBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestInfoShowsLockHolderPID: mgrctl info, run as a process of its own, names the pid of
// the worker process holding a lock, and -json says the same for scripts; filters keep
// only the lock.
func TestInfoShowsLockHolderPID(t *testing.T) {
	ctx := testCtx(t)
	m, err := syncmgr.Start(ctx, mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	c := m.Client()
	l, err := syncmgr.CreateLock(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := syncmgr.CreateEvent(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	w, err := m.Spawn(ctx, "hold", l, ev)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Kill()
	if err := ev.Wait(ctx); err != nil {
		t.Fatal(err)
	}

	out, stderr, code := mgrctl(t, m.Env(), "info")
	if code != 0 {
		t.Fatalf("mgrctl info: exit %d: %s", code, stderr)
	}
	t.Logf("mgrctl info:\n%s", out)
	want := fmt.Sprintf("held by session %d (pid %d)", 0, w.PID())
	want = want[strings.Index(want, "(pid"):]
	if !strings.Contains(out, want) || !strings.Contains(out, "syncmgr.Lock") || !strings.Contains(out, "locked=true") {
		t.Errorf("mgrctl info does not show the lock held by pid %d:\n%s", w.PID(), out)
	}

	out, stderr, code = mgrctl(t, m.Env(), "-json", "info", "-type", "Lock")
	if code != 0 {
		t.Fatalf("mgrctl -json info: exit %d: %s", code, stderr)
	}
	var info mgr.Info
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("mgrctl -json info: %v\n%s", err, out)
	}
	if len(info.Objects) != 1 || info.Objects[0].ID != l.ObjectID() {
		t.Fatalf("-type Lock kept %+v, want only the lock #%d", info.Objects, l.ObjectID())
	}
	if st := info.Objects[0].State; st == nil || len(st.Holders) != 1 || st.Holders[0].PID != w.PID() {
		t.Errorf("JSON state %+v, want one holder with pid %d", info.Objects[0].State, w.PID())
	}

	// watch, bounded by -n, prints the view that many times.
	out, stderr, code = mgrctl(t, m.Env(), "watch", "-n", "2", "-interval", "10ms", "-type", "Lock")
	if code != 0 || strings.Count(out, "OBJECT") != 2 {
		t.Errorf("mgrctl watch -n 2: exit %d, %d views: %s\n%s", code, strings.Count(out, "OBJECT"), stderr, out)
	}
}

// TestCallAndBadInput: call by name with JSON-ish arguments, and every kind of bad input
// gets one line on stderr and exit status 1.
func TestCallAndBadInput(t *testing.T) {
	ctx := testCtx(t)
	m, err := syncmgr.Start(ctx, mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	q, err := syncmgr.CreateQueue[int](ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprint(q.ObjectID())
	for _, args := range [][]string{{"call", id, "Put", "5"}, {"call", "#" + id, "PutMany", "[6,7]"}} {
		if out, stderr, code := mgrctl(t, m.Env(), args...); code != 0 || out != "" {
			t.Fatalf("mgrctl %q: exit %d, stdout %q, stderr %q", args, code, out, stderr)
		}
	}
	if out, stderr, code := mgrctl(t, m.Env(), "call", id, "Qsize"); code != 0 || out != "3\n" {
		t.Fatalf("mgrctl call Qsize: exit %d, %q, %s", code, out, stderr)
	}
	if out, stderr, code := mgrctl(t, m.Env(), "-json", "call", id, "GetMany", "2"); code != 0 || out != "[[5,6]]\n" {
		t.Fatalf("mgrctl -json call GetMany: exit %d, %q, %s", code, out, stderr)
	}

	bad := []struct {
		args []string
		want string
	}{
		{[]string{"call", "999999", "Put", "1"}, "no object #999999"},
		{[]string{"call", "nosuchname", "Put", "1"}, `no object named "nosuchname"`},
		{[]string{"call", id, "Nope"}, "has no exposed method Nope"},
		{[]string{"call", id, "Put", "abc"}, "argument 1"},
		{[]string{"call", id, "Put", "1", "2"}, "takes 1 arguments"},
		{[]string{"call", id, "Put", "1.5"}, "argument 1"},
	}
	for _, b := range bad {
		out, stderr, code := mgrctl(t, m.Env(), b.args...)
		if code != 1 || out != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, b.want) {
			t.Errorf("mgrctl %q: exit %d, stdout %q, stderr %q; want exit 1 and one line saying %q", b.args, code, out, stderr, b.want)
		}
	}
	if out, _, code := mgrctl(t, m.Env(), "token"); code != 0 || out != mgr.PageToken(m.AuthKey())+"\n" {
		t.Errorf("mgrctl token: exit %d, %q", code, out)
	}
	if _, stderr, code := mgrctl(t, m.Env(), "frobnicate"); code != 2 || !strings.Contains(stderr, "unknown command") {
		t.Errorf("mgrctl frobnicate: exit %d, %q", code, stderr)
	}

	// shutdown, after which the manager is dead: one line, exit 1.
	if out, stderr, code := mgrctl(t, m.Env(), "shutdown"); code != 0 {
		t.Fatalf("mgrctl shutdown: exit %d, %q %q", code, out, stderr)
	}
	select {
	case <-m.Exited():
	case <-ctx.Done():
		t.Fatal("the manager did not exit after mgrctl shutdown")
	}
	out, stderr, code := mgrctl(t, m.Env(), "info")
	if code != 1 || out != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "connect") {
		t.Errorf("mgrctl info on a dead manager: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}
