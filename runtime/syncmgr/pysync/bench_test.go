package pysync_test

import (
	"net"
	"path/filepath"
	"testing"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
	pywire "github.com/mgr-go/mgr/runtime/pyproto/wire"
)

// BenchmarkPythonCall is one ValueProxy.get() round trip as a CPython client sends it,
// from a Go client speaking the CPython wire over a Unix socket: the Go manager's cost
// per call, without the Python interpreter's.
func BenchmarkPythonCall(b *testing.B) {
	sock := filepath.Join(b.TempDir(), "py.sock")
	key := []byte("bench key")
	m, err := mgr.StartInProcess(mgr.Options{AuthKey: key, Python: mgr.Address{Network: "unix", Addr: sock}})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Shutdown(b.Context())
	dial := func() *pywire.Conn {
		nc, err := net.Dial("unix", sock)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { nc.Close() })
		c := pywire.NewConn(nc, 0)
		if err := pywire.ClientHandshake(c, key, pywire.Modern); err != nil {
			b.Fatal(err)
		}
		return c
	}
	call := func(c *pywire.Conn, req pickle.Tuple) any {
		if err := c.WriteFrame(must(pickle.Encode(req))); err != nil {
			b.Fatal(err)
		}
		f, err := c.ReadFrame()
		if err != nil {
			b.Fatal(err)
		}
		elems, err := must(pickle.Decode(f)).(pickle.Tuple).Elems()
		if err != nil || elems[0] != "#RETURN" {
			b.Fatalf("reply %v, %v", elems, err)
		}
		return elems[1]
	}
	created, _ := call(dial(), pickle.MustTuple(nil, "create", pickle.MustTuple("Value", "i", int64(7)), pickle.NewDict())).(pickle.Tuple).Elems()
	ident := created[0].(string)
	c := dial()
	call(c, pickle.MustTuple(nil, "accept_connection", pickle.MustTuple("bench"), pickle.NewDict()))
	get := must(pickle.Encode(pickle.MustTuple(ident, "get", pickle.MustTuple(), pickle.NewDict())))
	b.ResetTimer()
	for range b.N {
		if err := c.WriteFrame(get); err != nil {
			b.Fatal(err)
		}
		if _, err := c.ReadFrame(); err != nil {
			b.Fatal(err)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
