package pysync_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/pythons"
	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
	"github.com/mgr-go/mgr/runtime/syncmgr"
	_ "github.com/mgr-go/mgr/runtime/syncmgr/pysync"
)

// start serves a manager in this process for Go clients and, on a Unix socket, for
// CPython clients.
func start(t *testing.T) (*mgr.Manager, string, []byte) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "py.sock")
	key := []byte("pysync test key")
	m, err := mgr.StartInProcess(mgr.Options{AuthKey: key, Python: mgr.Address{Network: "unix", Addr: sock}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	return m, sock, key
}

// waitFor polls cond (the manager's own count of objects, which changes when another
// process acts) until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCPythonSyncManager runs an unmodified SyncManager client of every CPython found
// against a Go manager: every stock typeid from threads and from fork and spawn
// children, a wrong key refused; afterwards only the objects stored as proxies are left.
func TestCPythonSyncManager(t *testing.T) {
	for _, py := range pythons.ForTest(t) {
		t.Run(py.Version, func(t *testing.T) {
			m, sock, key := start(t)
			cmd := py.Command(filepath.Join("testdata", "sync_client.py"), sock, hex.EncodeToString(key))
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "OK") {
				t.Fatalf("python: %v\n%s", err, out)
			}
			// Left: the two objects whose proxies were stored inside others (a list in a
			// list, a queue in a dict), which the manager keeps while it runs, as CPython's
			// does; everything else is released.
			waitFor(t, "the Python client's objects to be released", func() bool { return m.Server().NumObjects() == 2 })
		})
	}
}

// TestCPythonQueueShutdown runs Python 3.13's Queue.shutdown — put and get raising
// queue.ShutDown, immediate shutdown dropping items, waking a getter and releasing join —
// from an unmodified client of every CPython 3.13 or later found.
func TestCPythonQueueShutdown(t *testing.T) {
	ran := false
	for _, py := range pythons.ForTest(t) {
		if !atLeast(py.Version, 3, 13) {
			continue
		}
		ran = true
		t.Run(py.Version, func(t *testing.T) {
			_, sock, key := start(t)
			out, err := py.Command(filepath.Join("testdata", "queue_shutdown.py"), sock, hex.EncodeToString(key)).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "OK") {
				t.Fatalf("python: %v\n%s", err, out)
			}
		})
	}
	if !ran {
		t.Skip("no CPython 3.13 or later found (Queue.shutdown is new in 3.13)")
	}
}

// TestCPythonSet serves Python 3.14's 'set' typeid to clients of every CPython found,
// whose proxy class is written as 3.14's SetProxy (there is no 3.14 here): operators,
// in-place operators returning the proxy, methods of several operands, KeyError and
// TypeError where Python raises them.
func TestCPythonSet(t *testing.T) {
	for _, py := range pythons.ForTest(t) {
		t.Run(py.Version, func(t *testing.T) {
			_, sock, key := start(t)
			out, err := py.Command(filepath.Join("testdata", "set_client.py"), sock, hex.EncodeToString(key)).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "OK") {
				t.Fatalf("python: %v\n%s", err, out)
			}
		})
	}
}

// atLeast reports whether version ("3.13.0") is major.minor or later.
func atLeast(version string, major, minor int) bool {
	var ma, mi int
	if _, err := fmt.Sscanf(version, "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}

// TestCPythonClientKilled kills a CPython client holding objects (kill -9) on a Unix
// socket: the manager sees its process gone and drops them.
func TestCPythonClientKilled(t *testing.T) {
	for _, py := range pythons.ForTest(t) {
		t.Run(py.Version, func(t *testing.T) {
			m, sock, key := start(t)
			cmd := py.Command(filepath.Join("testdata", "killed_client.py"), sock, hex.EncodeToString(key))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "ready 5") {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("python said %q, %v; stderr: %s", line, err, &stderr)
			}
			if n := m.Server().NumObjects(); n != 5 {
				t.Errorf("the manager holds %d objects, want the client's 5", n)
			}
			cmd.Process.Kill()
			cmd.Wait()
			waitFor(t, "the killed client's objects to be dropped", func() bool { return m.Server().NumObjects() == 0 })
		})
	}
}

// TestPythonProducerGoConsumer shares one Queue between a Go client and CPython
// producers: the Go side names it, Python reaches it as typeid get_jobs, and the Go
// consumer reads every item as the values package pickle documents; then a Go producer
// and a Python consumer, and a Dict both write.
func TestPythonProducerGoConsumer(t *testing.T) {
	for _, py := range pythons.ForTest(t) {
		t.Run(py.Version, func(t *testing.T) {
			m, sock, key := start(t)
			srv := m.Server()
			if err := srv.AddNamed("jobs", syncmgr.QueueTypeID[any](), syncmgr.NewQueue[any](0)); err != nil {
				t.Fatal(err)
			}
			if err := srv.SharePython("get_jobs", "jobs", nil); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			q, err := syncmgr.LookupQueue[any](ctx, m.Client(), "jobs")
			if err != nil {
				t.Fatal(err)
			}
			const n = 200
			cmd := py.Command(filepath.Join("testdata", "producer.py"), sock, hex.EncodeToString(key), "200")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			for i := 0; ; i++ {
				gctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				v, err := q.Get(gctx)
				cancel()
				if err != nil {
					t.Fatalf("item %d: %v; python: %s", i, err, &out)
				}
				if v == nil {
					if i != n {
						t.Fatalf("got %d items, want %d", i, n)
					}
					break
				}
				item, ok := v.([]any)
				if !ok || len(item) != 5 {
					t.Fatalf("item %d is %#v", i, v)
				}
				if item[0] != int64(i) || item[1] != "item "+itoa(i) || item[2] != pickle.Bytes("\x00\x01") ||
					item[3] != float64(i)*0.5 || item[4] != (i%2 == 0) {
					t.Fatalf("item %d is %#v", i, item)
				}
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("python: %v\n%s", err, &out)
			}
			// And the other way: what Go puts and stores, Python reads as Python values.
			if err := srv.AddNamed("table", syncmgr.DictTypeID[any, any](), syncmgr.NewDict[any, any]()); err != nil {
				t.Fatal(err)
			}
			if err := srv.SharePython("get_table", "table", nil); err != nil {
				t.Fatal(err)
			}
			table, err := syncmgr.LookupDict[any, any](ctx, m.Client(), "table")
			if err != nil {
				t.Fatal(err)
			}
			if err := table.Set(ctx, "answer", 42); err != nil {
				t.Fatal(err)
			}
			if err := table.Set(ctx, "name", "gopher"); err != nil {
				t.Fatal(err)
			}
			if err := q.Put(ctx, []any{7, "from Go", []byte{0, 1}, 2.5, true, nil, []any{1, 2}}); err != nil {
				t.Fatal(err)
			}
			cmd = py.Command(filepath.Join("testdata", "consumer.py"), sock, hex.EncodeToString(key))
			if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "OK") {
				t.Fatalf("python consumer: %v\n%s", err, out)
			}
			// A tuple travels to a Go client as the pickle.Tuple it is.
			v, ok, err := table.Get(ctx, "from python")
			if err != nil || !ok {
				t.Fatalf("reading a Python tuple from Go: %v, %v, %v", v, ok, err)
			}
			if tup, isTuple := v.(pickle.Tuple); !isTuple || tup.String() != pickle.MustTuple(int64(1), "tuple").String() {
				t.Errorf("reading a Python tuple from Go: %#v, want pickle.Tuple (1, 'tuple')", v)
			}
		})
	}
}

func itoa(i int) string {
	return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(i))
}

func fmtInt(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
