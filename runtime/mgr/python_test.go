package mgr

import (
	"bufio"
	"context"
	"encoding/hex"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/pythons"
	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
	pywire "github.com/mgr-go/mgr/runtime/pyproto/wire"
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

// pyDial authenticates as a CPython client would, in Go.
func pyDial(t *testing.T, addr Address, key []byte) *pywire.Conn {
	t.Helper()
	nc, err := net.Dial(addr.Network, addr.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	c := pywire.NewConn(nc, 0)
	if err := pywire.ClientHandshake(c, key, pywire.Legacy); err != nil {
		t.Fatal(err)
	}
	return c
}

func pyRoundTrip(t *testing.T, c *pywire.Conn, frame []byte) (string, any) {
	t.Helper()
	if err := c.WriteFrame(frame); err != nil {
		t.Fatal(err)
	}
	f, err := c.ReadFrame()
	if err != nil {
		t.Fatalf("no reply: %v", err)
	}
	v, err := pickle.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	elems, err := v.(pickle.Tuple).Elems()
	if err != nil || len(elems) != 2 {
		t.Fatalf("reply %v, %v", v, err)
	}
	return elems[0].(string), elems[1]
}

func mustPickle(t *testing.T, v any) []byte {
	b, err := pickle.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPythonBadRequests sends what no CPython client sends: each gets a RemoteError
// (#TRACEBACK) or a closed connection, and the manager goes on serving.
func TestPythonBadRequests(t *testing.T) {
	key := []byte("bad requests key")
	srv, err := NewServer(Options{AuthKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	addr, err := srv.listenPython(Address{Network: "tcp", Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	for _, frame := range [][]byte{
		[]byte("not a pickle"),
		mustPickle(t, "a string, not a request"),
		mustPickle(t, pickle.MustTuple(nil, "bogus", pickle.MustTuple(), nil)),
		mustPickle(t, pickle.MustTuple(nil, "incref", pickle.MustTuple("nope"), nil)),
		mustPickle(t, pickle.MustTuple(nil, "decref", pickle.MustTuple("0.1"), nil)),
		mustPickle(t, pickle.MustTuple(nil, "create", pickle.MustTuple("NoSuchType"), nil)),
		mustPickle(t, pickle.MustTuple(nil, "create", pickle.MustTuple(int64(3)), nil)),
		mustPickle(t, pickle.MustTuple(int64(5), "x", pickle.MustTuple(), nil)),
	} {
		c := pyDial(t, addr, key)
		if kind, v := pyRoundTrip(t, c, frame); kind != "#TRACEBACK" {
			t.Errorf("%q: reply %s %v, want #TRACEBACK", frame, kind, v)
		}
	}
	// On a proxies' connection a bad call is answered and the connection goes on.
	c := pyDial(t, addr, key)
	if kind, _ := pyRoundTrip(t, c, mustPickle(t, pickle.MustTuple(nil, "accept_connection", pickle.MustTuple("test"), nil))); kind != "#RETURN" {
		t.Fatalf("accept_connection: %s", kind)
	}
	for range 2 {
		if kind, _ := pyRoundTrip(t, c, mustPickle(t, pickle.MustTuple("1.1", "get", pickle.MustTuple(), nil))); kind != "#TRACEBACK" {
			t.Errorf("call on an unknown object: %s, want #TRACEBACK", kind)
		}
	}
	// A frame over the limit ends the connection without being read.
	big := pyDial(t, addr, key)
	big.WriteFramed([]byte{0x40, 0, 0, 0}) // 1 GiB announced, nothing sent
	if f, err := big.ReadFrame(); err == nil {
		t.Errorf("a 1 GiB frame was answered (%q); want the connection closed", f)
	}
	c2 := pyDial(t, addr, key)
	if kind, v := pyRoundTrip(t, c2, mustPickle(t, pickle.MustTuple(nil, "number_of_objects", pickle.MustTuple(), nil))); kind != "#RETURN" || v != int64(0) {
		t.Errorf("number_of_objects after the bad requests: %s %v", kind, v)
	}
}

// TestPythonShutdownEndsConnections: a manager's shutdown ends the calls CPython clients
// wait in and closes their connections.
func TestPythonShutdownEndsConnections(t *testing.T) {
	key := []byte("shutdown key")
	srv, err := NewServer(Options{AuthKey: key})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.listenPython(Address{Network: "tcp", Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	c := pyDial(t, addr, key)
	_, created := pyRoundTrip(t, c, mustPickle(t, pickle.MustTuple(nil, "create", pickle.MustTuple("Blocker"), pickle.NewDict())))
	elems, _ := created.(pickle.Tuple).Elems()
	c = pyDial(t, addr, key)
	pyRoundTrip(t, c, mustPickle(t, pickle.MustTuple(nil, "accept_connection", pickle.MustTuple("t"), nil)))
	if err := c.WriteFrame(mustPickle(t, pickle.MustTuple(elems[0], "wait", pickle.MustTuple(), nil))); err != nil {
		t.Fatal(err)
	}
	<-testBlocker.started
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(context.Background()) }()
	<-testBlocker.cancelled
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := c.ReadFrame(); err != nil {
			break // the connection was closed (after the cancelled call's reply, if any)
		}
	}
}
