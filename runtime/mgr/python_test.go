package mgr

import (
	"bufio"
	"context"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/pythons"
	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
)

// blocker is a type whose one Python method waits until its call is cancelled.
type blocker struct {
	started, cancelled chan struct{}
}

var testBlocker = &blocker{started: make(chan struct{}, 8), cancelled: make(chan struct{}, 8)}

func init() {
	Register(&TypeDesc{TypeID: "mgrtest.Blocker", New: func(context.Context, *Decoder) (any, error) { return testBlocker, nil }})
	RegisterPython(&PyType{
		TypeID: "Blocker", GoTypeID: "mgrtest.Blocker", Exposed: []string{"wait"},
		New: func(context.Context, []any, *pickle.Dict) (any, error) { return testBlocker, nil },
		Methods: map[string]PyMethod{"wait": func(ctx context.Context, obj any, _ []any, _ *pickle.Dict) (any, error) {
			b := obj.(*blocker)
			b.started <- struct{}{}
			<-ctx.Done()
			b.cancelled <- struct{}{}
			return nil, ctx.Err()
		}},
	})
}

// TestPythonCallEndsWithClient kills a CPython client (kill -9) while its call waits in
// the manager: the call's context ends, so a waiting Queue.get gives its item back
// instead of taking it for nobody.
func TestPythonCallEndsWithClient(t *testing.T) {
	py := pythons.ForTest(t)[0]
	sock := filepath.Join(t.TempDir(), "py.sock")
	key := []byte("blocker key")
	m, err := StartInProcess(Options{AuthKey: key, Python: Address{Network: "unix", Addr: sock}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	cmd := py.Command(filepath.Join("testdata", "py_blocker.py"), sock, hex.EncodeToString(key))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || !strings.HasPrefix(line, "calling") {
		t.Fatalf("python said %q, %v", line, err)
	}
	select {
	case <-testBlocker.started:
	case <-time.After(30 * time.Second):
		t.Fatal("the call never reached the method")
	}
	cmd.Process.Kill()
	cmd.Wait()
	select {
	case <-testBlocker.cancelled:
	case <-time.After(30 * time.Second):
		t.Fatal("the call of a killed client was not cancelled")
	}
}
