package mgr

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
)

// echoer's Python methods echo their argument and hand out large replies, registering
// an Undo that signals when a reply could not be written.
type echoer struct{ undone chan struct{} }

var testEchoer = &echoer{undone: make(chan struct{}, 8)}

func init() {
	Register(&TypeDesc{TypeID: "mgrtest.Echoer", New: func(context.Context, *Decoder) (any, error) { return testEchoer, nil }})
	RegisterPython(&PyType{
		TypeID: "Echoer", GoTypeID: "mgrtest.Echoer", Exposed: []string{"echo", "big"},
		New: func(context.Context, []any, *pickle.Dict) (any, error) { return testEchoer, nil },
		Methods: map[string]PyMethod{
			"echo": func(_ context.Context, _ any, args []any, _ *pickle.Dict) (any, error) { return args[0], nil },
			"big": func(ctx context.Context, obj any, args []any, _ *pickle.Dict) (any, error) {
				e := obj.(*echoer)
				Undo(ctx, func() { e.undone <- struct{}{} })
				return pickle.Bytes(bytes.Repeat([]byte{'x'}, int(args[0].(int64)))), nil
			},
		},
	})
}

// pyEchoer serves an Echoer on a Unix socket: the server, and a proxies' connection's
// round trip and bare send.
func pyEchoer(t *testing.T, opts Options) (*Server, func(frame []byte) (string, any), func(frame []byte) error) {
	t.Helper()
	opts.AuthKey = []byte("echo key")
	srv, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	addr, err := srv.listenPython(Address{Network: "unix", Addr: t.TempDir() + "/py.sock"})
	if err != nil {
		t.Fatal(err)
	}
	ctl := pyDial(t, addr, opts.AuthKey)
	kind, v := pyRoundTrip(t, ctl, mustPickle(t, pickle.MustTuple(nil, "create", pickle.MustTuple("Echoer"), pickle.NewDict())))
	if kind != "#RETURN" {
		t.Fatalf("create: %s %v", kind, v)
	}
	created, _ := v.(pickle.Tuple).Elems()
	ident := created[0].(string)
	c := pyDial(t, addr, opts.AuthKey)
	if kind, _ := pyRoundTrip(t, c, mustPickle(t, pickle.MustTuple(nil, "accept_connection", pickle.MustTuple("test"), nil))); kind != "#RETURN" {
		t.Fatalf("accept_connection: %s", kind)
	}
	_ = ident // the tests find it again with pyIdentOfEchoer
	return srv,
		func(frame []byte) (string, any) { return pyRoundTrip(t, c, frame) },
		func(frame []byte) error { return c.WriteFrame(frame) }
}

// TestPythonLargeFrames: requests and replies many times a socket's buffer go through
// the raw reader and writer whole (the writer waits for room in the poller), and the
// connection goes on serving small calls after them.
func TestPythonLargeFrames(t *testing.T) {
	srv, roundTrip, _ := pyEchoer(t, Options{})
	ident := pyIdentOfEchoer(t, srv)
	for _, n := range []int{10, 4 << 20, 3, 1 << 20, 7} {
		payload := pickle.Bytes(strings.Repeat(string(rune('a'+n%26)), n))
		kind, v := roundTrip(mustPickle(t, pickle.MustTuple(ident, "echo", pickle.MustTuple(payload), pickle.NewDict())))
		if kind != "#RETURN" || v.(pickle.Bytes) != payload {
			t.Fatalf("echo of %d bytes: %s, %d bytes back", n, kind, len(v.(pickle.Bytes)))
		}
		kind, v = roundTrip(mustPickle(t, pickle.MustTuple(ident, "big", pickle.MustTuple(int64(n)), pickle.NewDict())))
		if kind != "#RETURN" || len(v.(pickle.Bytes)) != n {
			t.Fatalf("big(%d): %s", n, kind)
		}
	}
}

// TestPythonStalledReaderFailsWrite: a client that stops reading a reply larger than the
// socket's buffer fails the write within a lease (the raw writer keeps the write
// deadline), and what the call registered with Undo is undone.
func TestPythonStalledReaderFailsWrite(t *testing.T) {
	srv, _, send := pyEchoer(t, Options{Lease: 300 * time.Millisecond})
	ident := pyIdentOfEchoer(t, srv)
	for len(testEchoer.undone) > 0 {
		<-testEchoer.undone
	}
	if err := send(mustPickle(t, pickle.MustTuple(ident, "big", pickle.MustTuple(int64(64<<20)), pickle.NewDict()))); err != nil {
		t.Fatal(err)
	}
	select {
	case <-testEchoer.undone:
	case <-time.After(30 * time.Second):
		t.Fatal("a reply nobody reads was never given up (no Undo)")
	}
}

// pyIdentOfEchoer is the ident of the one Echoer object in srv.
func pyIdentOfEchoer(t *testing.T, srv *Server) string {
	t.Helper()
	srv.mu.RLock()
	defer srv.mu.RUnlock()
	for id, obj := range srv.objects {
		if obj.desc.TypeID == "mgrtest.Echoer" {
			return srv.pyIdent(id)
		}
	}
	t.Fatal("no Echoer object")
	return ""
}
