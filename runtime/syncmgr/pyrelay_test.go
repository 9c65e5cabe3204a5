package syncmgr_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mgr-go/mgr/internal/pythons"
	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// goOnly is registered in this test process, not in mgrserve.
type goOnly struct {
	N int
	S string
}

var goOnlyItem = goOnly{N: 3, S: "Go only"}

func init() { mgr.RegisterValue[goOnly]() }

// TestPythonValuesReachGoWithoutPysync: a CPython client puts bytes, a tuple, a dict
// and an instance of a __main__ dataclass on a queue mgrserve shares; this Go client,
// which does not import pysync (this package's tests never do), takes every one of them
// — none fails to decode after the manager gave it up, none blocks the queue — and
// puts them on a second queue, from which a CPython client reads them back equal. A Go
// value a CPython client cannot read stays on the queue when its get fails.
func TestPythonValuesReachGoWithoutPysync(t *testing.T) {
	pys := pythons.ForTest(t)
	if mgr.LookupType("pysync.Iterator") != nil {
		t.Fatal("this test binary imports pysync; the test is about a Go client that does not")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "mgrserve")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/mgr-go/mgr/cmd/mgrserve").CombinedOutput(); err != nil {
		t.Fatalf("go build mgrserve: %v\n%s", err, out)
	}
	const keyHex = "00112233445566778899aabbccddeeff"
	cmd := exec.Command(bin, "-addr", "unix:"+filepath.Join(dir, "go.sock"), "-python", "tcp:127.0.0.1:0",
		"-share", "queue=Queue,out=Queue")
	cmd.Env = append(os.Environ(), "MGR_AUTHKEY="+keyHex)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	var goAddr, pyAddr string
	for (goAddr == "" || pyAddr == "") && lines.Scan() {
		f := strings.Fields(lines.Text())
		switch {
		case len(f) >= 4 && f[1] == "Go":
			goAddr = f[3]
		case len(f) >= 4 && f[1] == "Python":
			pyAddr = strings.TrimPrefix(f[3], "tcp:")
		}
	}
	if goAddr == "" || pyAddr == "" {
		t.Fatalf("mgrserve did not say where it listens (go %q, python %q)", goAddr, pyAddr)
	}
	addr, err := mgr.ParseAddress(goAddr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	key := []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	client, err := syncmgr.Connect(ctx, mgr.Options{Address: addr, AuthKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	q, err := syncmgr.LookupQueue[any](ctx, client, "queue")
	if err != nil {
		t.Fatal(err)
	}
	out, err := syncmgr.LookupQueue[any](ctx, client, "out")
	if err != nil {
		t.Fatal(err)
	}
	python := func(t *testing.T, py pythons.Python, mode string) {
		t.Helper()
		c := py.Command(filepath.Join("testdata", "pyrelay.py"), pyAddr, mode)
		c.Env = append(c.Env, "MGR_AUTHKEY="+keyHex)
		if b, err := c.CombinedOutput(); err != nil || !strings.Contains(string(b), "OK") {
			t.Fatalf("python %s %s: %v\n%s", py.Version, mode, err, b)
		}
	}
	for _, py := range pys {
		t.Run(py.Version, func(t *testing.T) {
			python(t, py, "produce")
			var items []any
			for range 4 {
				v, err := q.GetNowait(ctx)
				if err != nil {
					t.Fatalf("Get after %d items: %v", len(items), err)
				}
				items = append(items, v)
			}
			if n, err := q.Qsize(ctx); err != nil || n != 0 {
				t.Fatalf("the queue holds %d items after all were taken (%v)", n, err)
			}
			if b, ok := items[0].(pickle.Bytes); !ok || b != "bytes" {
				t.Errorf("item 0 = %#v, want pickle.Bytes(\"bytes\")", items[0])
			}
			if tup, ok := items[1].(pickle.Tuple); !ok || tup.Len() != 3 {
				t.Errorf("item 1 = %#v, want a pickle.Tuple of 3", items[1])
			}
			if d, ok := items[2].(*pickle.Dict); !ok || d.Len() != 3 {
				t.Errorf("item 2 = %#v, want a *pickle.Dict of 3", items[2])
			}
			if o, ok := items[3].(pickle.Opaque); !ok {
				t.Errorf("item 3 = %#v, want a pickle.Opaque", items[3])
			} else if mod, name := o.Global(); mod != "__main__" || name != "Point" {
				t.Errorf("item 3 is an instance of %s.%s, want __main__.Point", mod, name)
			}
			for _, v := range items { // the relay: untouched, onto the other queue
				if err := out.Put(ctx, v); err != nil {
					t.Fatalf("Put %T: %v", v, err)
				}
			}
			python(t, py, "consume")
			// A Go value Python has no form for (mgrserve does not know the type
			// either, and keeps it as an mgr.OpaqueValue): Python's get fails and the
			// item stays; a Go client that knows the type still gets it.
			if err := q.Put(ctx, goOnlyItem); err != nil {
				t.Fatal(err)
			}
			python(t, py, "gostruct")
			if v, err := q.GetNowait(ctx); err != nil || v != goOnlyItem {
				t.Fatalf("Get after Python's failed get = %#v, %v; want %#v", v, err, goOnlyItem)
			}
		})
	}
}
