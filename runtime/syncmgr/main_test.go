package syncmgr_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

func TestMain(m *testing.M) {
	mgr.RunChild() // the manager child and the worker processes are this test binary
	os.Exit(m.Run())
}

// Instantiations the nested-proxy tests need, registered in every process (the workers
// are this binary too).
func init() {
	syncmgr.RegisterDict[string, *syncmgr.ListProxy[int]]()
	syncmgr.RegisterList[*syncmgr.QueueProxy[string]]()
}

// testCtx returns a context with a generous deadline, so a hang fails loudly instead of
// stalling the suite.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startManager serves a manager in this process and returns it with a second session
// (another "process" as far as ownership goes: a distinct session).
func startManager(t *testing.T) (*mgr.Manager, *mgr.Client) {
	t.Helper()
	m, err := syncmgr.StartInProcess(mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	c2, err := syncmgr.Connect(testCtx(t), m.Options())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c2.Close() })
	return m, c2
}

// waitUntil polls cond (a state of a shared object, read through a proxy) until it
// holds, failing loudly after a generous deadline. It is for states that have no event
// to wait on, such as "three waiters are parked".
func waitUntil(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for d := 100 * time.Microsecond; ; d = min(2*d, 20*time.Millisecond) {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(d)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
