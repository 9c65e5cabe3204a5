package mgr_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// panicker's methods panic in the three ways a method can: explicitly, in the runtime
// (an index out of range), and on a signal (a nil dereference). Each records the line
// it panics on, for the test to find in the error.
type panicker struct{ site string }

// here returns the file:line of the line after its caller's.
func here() string {
	_, file, line, _ := runtime.Caller(1)
	return fmt.Sprintf("%s:%d", file, line+1)
}

var panickerDesc = &mgr.TypeDesc{
	TypeID: "mgr_test.panicker",
	New:    func(context.Context, *mgr.Decoder) (any, error) { return new(panicker), nil },
	Methods: []mgr.Method{
		{Name: "Explicit", Call: func(_ context.Context, obj any, _ *mgr.Decoder, _ *mgr.Encoder) error {
			obj.(*panicker).site = here()
			panic("boom")
		}},
		{Name: "Index", Call: func(_ context.Context, obj any, _ *mgr.Decoder, _ *mgr.Encoder) error {
			var xs []int
			obj.(*panicker).site = here()
			xs[5]++
			return nil
		}},
		{Name: "Nil", Call: func(_ context.Context, obj any, _ *mgr.Decoder, _ *mgr.Encoder) error {
			var p *panicker
			obj.(*panicker).site = here()
			p.site = "unreachable"
			return nil
		}},
		{Name: "Site", Call: func(_ context.Context, obj any, _ *mgr.Decoder, res *mgr.Encoder) error {
			res.String(obj.(*panicker).site)
			return nil
		}},
	},
	Serialized: true,
}

func init() { mgr.Register(panickerDesc) }

// TestPanicErrorSaysWhere: a method's panic comes back as a RemoteError whose message
// names the line that panicked, not only the panic's value; the stack stays in Stack.
func TestPanicErrorSaysWhere(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	h, err := m.Client().Create(ctx, panickerDesc.TypeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := mgr.MakeProxyBase(h)
	call := func(method string) (string, error) {
		c, err := p.BeginMethod(method)
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Do(ctx)
		if err != nil {
			return "", err
		}
		s := res.String()
		return s, c.End()
	}
	for _, tc := range []struct{ method, value string }{
		{"Explicit", "boom"},
		{"Index", "index out of range [5] with length 0"},
		{"Nil", "nil pointer dereference"},
	} {
		_, err := call(tc.method)
		site, serr := call("Site")
		if serr != nil {
			t.Fatal(serr)
		}
		var re *mgr.RemoteError
		if !errors.Is(err, mgr.ErrPanic) || !errors.As(err, &re) {
			t.Fatalf("%s: %v, want a RemoteError wrapping ErrPanic", tc.method, err)
		}
		want := fmt.Sprintf("mgr_test.panicker.%s panicked at %s: ", tc.method, site)
		if !strings.HasPrefix(re.Msg, want) || !strings.Contains(re.Msg, tc.value) {
			t.Errorf("%s: message %q, want it to start with %q and contain %q", tc.method, re.Msg, want, tc.value)
		}
		if !strings.Contains(re.Stack, "goroutine") {
			t.Errorf("%s: no stack: %q", tc.method, re.Stack)
		}
	}
}

// TestConnectFailureSaysCouldNotConnect: a Connect that cannot reach the manager says
// so, not "connection to manager lost" (there was never a connection), and keeps the
// dialer's error.
func TestConnectFailureSaysCouldNotConnect(t *testing.T) {
	ctx := testCtx(t)
	addr := mgr.Address{Network: "unix", Addr: filepath.Join(t.TempDir(), "nobody.sock")}
	_, err := mgr.Connect(ctx, mgr.Options{Address: addr, AuthKey: []byte("k")})
	want := "mgr: could not connect to manager at " + addr.String() + ": dial unix " + addr.Addr + ": "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Connect = %v, want a message starting %q", err, want)
	}
	var op *net.OpError
	if !errors.Is(err, mgr.ErrConnect) || errors.Is(err, mgr.ErrConnLost) || !errors.As(err, &op) || !errors.Is(err, syscall.ENOENT) {
		t.Errorf("Connect = %v: want ErrConnect, not ErrConnLost, wrapping the *net.OpError (ENOENT)", err)
	}
}

// sendGarbage connects to the manager at addr, sends bytes that are no handshake and
// waits for the manager to close the connection, which it does right after it logs
// the rejection.
func sendGarbage(addr mgr.Address) error {
	conn, err := net.DialTimeout(addr.Network, addr.Addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	conn.Write(bytes.Repeat([]byte{0xff}, 64))
	_, err = io.Copy(io.Discard, conn)
	return err
}

// TestChildManagerLogsGoToLogf: a child-process manager's diagnostics reach the
// parent's Options.Logf (the doc's promise), not the child's stderr.
func TestChildManagerLogsGoToLogf(t *testing.T) {
	ctx := testCtx(t)
	logs := make(chan string, 16)
	m, err := mgr.Start(ctx, mgr.Options{Logf: func(format string, args ...any) {
		select {
		case logs <- fmt.Sprintf(format, args...):
		default:
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(ctx)
	if err := sendGarbage(m.Address()); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case msg := <-logs:
			if strings.HasPrefix(msg, "mgr: rejected connection") {
				return
			}
		case <-ctx.Done():
			t.Fatal("the child manager's rejection never reached Logf")
		}
	}
}

// TestChildManagerWithoutLogfIsQuiet: with Logf nil, a child-process manager discards
// its diagnostics, as Options.Logf says: nothing on stderr. A helper process starts the
// manager, so that its stderr (which the child inherits) can be read whole.
func TestChildManagerWithoutLogfIsQuiet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperRoleEnv+"=child-manager-nil-logf")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v\nstdout:\n%s\nstderr:\n%s", err, out, &stderr)
	}
	if !strings.Contains(string(out), "rejected\n") {
		t.Fatalf("helper did not get as far as the rejection; stdout:\n%s\nstderr:\n%s", out, &stderr)
	}
	if stderr.Len() != 0 {
		t.Errorf("a child manager with a nil Logf wrote to stderr:\n%s", &stderr)
	}
}

func helperChildManagerNilLogf() int {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	m, err := mgr.Start(ctx, mgr.Options{})
	if err != nil {
		fmt.Println("start:", err)
		return 1
	}
	if err := sendGarbage(m.Address()); err != nil {
		fmt.Println("garbage:", err)
		return 1
	}
	fmt.Println("rejected")
	if err := m.Shutdown(ctx); err != nil {
		fmt.Println("shutdown:", err)
		return 1
	}
	return 0
}
