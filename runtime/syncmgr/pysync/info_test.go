package pysync_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/pythons"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// A CPython client on a Unix socket shows in Info like a Go session: with its pid, and
// as the holder of what it holds (a lock: the pid a stuck worker's operator looks for).
func TestCPythonClientShowsInInfo(t *testing.T) {
	pys := pythons.ForTest(t)
	m, sock, key := start(t)
	cmd := pys[0].Command("-c", `import sys
from multiprocessing.managers import SyncManager
m = SyncManager(sys.argv[1], bytes.fromhex(sys.argv[2]))
m.connect()
l = m.Lock()
l.acquire()
print('held', flush=True)
sys.stdin.read()
`, sock, hex.EncodeToString(key))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || strings.TrimSpace(sc.Text()) != "held" {
		t.Fatalf("the Python client did not take the lock: %q", sc.Text())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := m.Client().Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var sess *mgr.SessionInfo
	for i := range info.Sessions {
		if info.Sessions[i].PID == cmd.Process.Pid {
			sess = &info.Sessions[i]
		}
	}
	if sess == nil {
		t.Fatalf("no session with the Python client's pid %d in %+v", cmd.Process.Pid, info.Sessions)
	}
	if sess.Refs == 0 || !strings.Contains(sess.Program, "CPython") {
		t.Errorf("the Python client's session: %+v, want its references and program CPython", *sess)
	}
	found := false
	for _, o := range info.Objects {
		if o.State == nil {
			continue
		}
		for _, h := range o.State.Holders {
			found = found || h.PID == cmd.Process.Pid
		}
	}
	if !found {
		for _, o := range info.Objects {
			if o.State != nil {
				t.Logf("%s state %+v", o.TypeID, *o.State)
			}
		}
		t.Errorf("no object's state names the Python client (pid %d) as a holder", cmd.Process.Pid)
	}
}
