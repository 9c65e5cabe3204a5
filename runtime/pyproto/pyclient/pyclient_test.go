package pyclient

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/pythons"
	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
	"github.com/mgr-go/mgr/runtime/pyproto/wire"
)

var authkey = []byte("pyclient test key")

// server is a CPython manager running testdata/server.py.
type server struct {
	cmd              *exec.Cmd
	network, address string
	exited           chan struct{} // closed when the process has exited
	err              error         // its exit status, once exited is closed
}

// startServer starts a CPython manager (get_server().serve_forever()) and waits for it
// to print the address it serves.
func startServer(t testing.TB, py pythons.Python, network string) *server {
	t.Helper()
	addr := "127.0.0.1"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "m.sock")
	}
	cmd := py.Command("testdata/server.py", network, addr, hex.EncodeToString(authkey))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, network: network, exited: make(chan struct{})}
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		line <- l
		s.err = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.exited
	})
	var l string
	select {
	case l = <-line:
	case <-time.After(60 * time.Second):
		t.Fatalf("python %s server did not print its address in 60 s; stderr:\n%s", py.Version, stderr.String())
	}
	var a any
	if err := json.Unmarshal([]byte(l), &a); err != nil {
		t.Fatalf("server address %q: %v; stderr:\n%s", l, err, stderr.String())
	}
	switch x := a.(type) {
	case string:
		s.address = x
	case []any:
		s.address = fmt.Sprintf("%s:%v", x[0], x[1])
	}
	return s
}

func call(t *testing.T, p *Proxy, method string, args ...any) any {
	t.Helper()
	v, err := p.Call(context.Background(), method, args...)
	if err != nil {
		t.Fatalf("%s.%s%v: %v", p.Token().TypeID, method, args, err)
	}
	return v
}

func create(t *testing.T, c *Client, typeid string, args ...any) *Proxy {
	t.Helper()
	p, err := c.Create(context.Background(), typeid, args...)
	if err != nil {
		t.Fatalf("create %s: %v", typeid, err)
	}
	return p
}

// TestCPythonManager drives a real CPython SyncManager server of every version found,
// on TCP and on a Unix socket: creates dict, list, Queue, Lock, Value and a custom Box,
// calls them with Go values, gets KeyError/IndexError/queue.Empty/queue.Full/
// RuntimeError/ValueError as errors.Is-able errors, receives '#PROXY' proxies and a
// proxy stored inside a dict, releases everything (number_of_objects back to 0), and
// shuts the server down.
func TestCPythonManager(t *testing.T) {
	for _, py := range pythons.ForTest(t) {
		for _, network := range []string{"unix", "tcp"} {
			t.Run(py.Version+"/"+network, func(t *testing.T) {
				t.Parallel()
				testManager(t, py, network)
			})
		}
	}
}

func testManager(t *testing.T, py pythons.Python, network string) {
	s := startServer(t, py, network)
	ctx := context.Background()
	c, err := Dial(ctx, s.network, s.address, authkey, nil)
	if err != nil {
		t.Fatal(err)
	}

	// dict: any hashable key, KeyError.
	d := create(t, c, "dict")
	call(t, d, "__setitem__", "a", 1)
	call(t, d, "__setitem__", pickle.MustTuple(1, "x"), []any{2.5, nil, []byte("b")})
	if v := call(t, d, "__getitem__", "a"); v != int64(1) {
		t.Errorf("d['a'] = %#v", v)
	}
	if v := call(t, d, "__getitem__", pickle.MustTuple(1, "x")).([]any); len(v) != 3 || v[0] != 2.5 || v[1] != nil || v[2] != pickle.Bytes("b") {
		t.Errorf("d[(1, 'x')] = %#v", v)
	}
	_, err = d.Call(ctx, "__getitem__", "missing")
	if !errors.Is(err, KeyError) || !errors.Is(err, LookupError) || errors.Is(err, IndexError) {
		t.Errorf("d['missing']: %v", err)
	}
	var pe *PythonError
	if !errors.As(err, &pe) || len(pe.Exc.Args) != 1 || pe.Exc.Args[0] != "missing" {
		t.Errorf("KeyError args: %#v", err)
	}
	if v := call(t, d, "__len__"); v != int64(2) {
		t.Errorf("len(d) = %v", v)
	}
	// A dict view travels as builtins.list(...) (the manager's ForkingPickler reducer).
	if v, ok := call(t, d, "keys").([]any); !ok || len(v) != 2 || v[0] != "a" {
		t.Errorf("d.keys() = %#v", v)
	}

	// list: IndexError, pop.
	l := create(t, c, "list", []any{1, 2})
	call(t, l, "append", map[string]any{"k": []int{3}})
	if v := call(t, l, "__len__"); v != int64(3) {
		t.Errorf("len(l) = %v", v)
	}
	if _, err := l.Call(ctx, "__getitem__", 10); !errors.Is(err, IndexError) {
		t.Errorf("l[10]: %v", err)
	}
	if v, ok := call(t, l, "pop").(*pickle.Dict); !ok || v.Len() != 1 {
		t.Errorf("l.pop() = %#v", v)
	}

	// Queue: Empty and Full.
	q := create(t, c, "Queue", 1)
	call(t, q, "put", pickle.MustTuple("job", 1))
	if _, err := q.Call(ctx, "put_nowait", 2); !errors.Is(err, Full) {
		t.Errorf("put_nowait on a full queue: %v", err)
	}
	if v := call(t, q, "get"); v != pickle.MustTuple("job", 1) {
		t.Errorf("q.get() = %v", v)
	}
	if _, err := q.Call(ctx, "get_nowait"); !errors.Is(err, Empty) || !errors.Is(err, Exception) {
		t.Errorf("get_nowait on an empty queue: %v", err)
	}
	// Python-side timeouts are arguments: get(True, 0.05) raises queue.Empty.
	if _, err := q.Call(ctx, "get", true, 0.05); !errors.Is(err, Empty) {
		t.Errorf("get with a timeout on an empty queue: %v", err)
	}
	// A blocking call bounded by ctx: the deadline ends the call (the server's thread
	// stays in wait() until the event is set), and the client goes on.
	ev := create(t, c, "Event")
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err = ev.Call(short, "wait")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("blocked wait with a deadline: %v", err)
	}
	call(t, ev, "set")
	if v := call(t, ev, "is_set"); v != true {
		t.Errorf("is_set after set = %v", v)
	}

	// Lock: over-release is RuntimeError.
	lk := create(t, c, "Lock")
	if v := call(t, lk, "acquire"); v != true {
		t.Errorf("acquire = %v", v)
	}
	call(t, lk, "release")
	if _, err := lk.Call(ctx, "release"); !errors.Is(err, RuntimeError) {
		t.Errorf("second release: %v", err)
	}

	// Value.
	val := create(t, c, "Value", "i", 3)
	call(t, val, "set", 5)
	if v := call(t, val, "get"); v != int64(5) {
		t.Errorf("value = %v", v)
	}

	// '#PROXY': iter(dict) is a new shared Iterator; StopIteration ends it.
	it, ok := call(t, d, "__iter__").(*Proxy)
	if !ok || it.Token().TypeID != "Iterator" {
		t.Fatalf("iter(d) = %#v", it)
	}
	var keys []any
	for {
		k, err := it.Call(ctx, "__next__")
		if errors.Is(err, StopIteration) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if len(keys) != 2 || keys[0] != "a" || keys[1] != pickle.MustTuple(1, "x") {
		t.Errorf("keys %v", keys)
	}
	if err := it.Release(ctx); err != nil {
		t.Error(err)
	}
	if _, err := it.Call(ctx, "__next__"); !errors.Is(err, ErrReleased) {
		t.Errorf("call after release: %v", err)
	}

	// A custom typeid with method_to_typeid (AutoProxy), a ValueError with args, and an
	// unknown method (#TRACEBACK).
	box := create(t, c, "Box", 7)
	b2, ok := call(t, box, "make_box", 8).(*Proxy)
	if !ok {
		t.Fatal("make_box did not return a proxy")
	}
	if v := call(t, b2, "get"); v != int64(8) {
		t.Errorf("b2.get() = %v", v)
	}
	_, err = box.Call(ctx, "fail")
	if !errors.Is(err, ValueError) || !errors.As(err, &pe) || len(pe.Exc.Args) != 2 || pe.Exc.Args[1] != int64(42) {
		t.Errorf("fail(): %v", err)
	}
	// An exception class of the program's own: opaque, but its class and args read.
	_, err = box.Call(ctx, "fail_custom")
	if !errors.Is(err, &Class{"values", "CustomError"}) || !errors.Is(err, Exception) || errors.Is(err, ValueError) ||
		!errors.As(err, &pe) || len(pe.Exc.Args) != 2 || pe.Exc.Args[0] != "mine" || pe.Opaque == (pickle.Opaque{}) {
		t.Errorf("fail_custom(): %#v", err)
	}
	var re *RemoteError
	if _, err := box.Call(ctx, "nope"); !errors.As(err, &re) || re.Kind != "#TRACEBACK" || !strings.Contains(re.Traceback, "nope") {
		t.Errorf("unknown method: %v", err)
	}
	if r, err := box.Repr(ctx); err != nil || r != "Box(7)" {
		t.Errorf("repr = %q, %v", r, err)
	}

	// A proxy as an argument: the dict stores it; reading it back gives a pickled
	// proxy that Attach turns into a working one.
	call(t, d, "__setitem__", "list", l)
	pp, ok := call(t, d, "__getitem__", "list").(*pickle.Proxy)
	if !ok || pp.Token.ID != l.Token().ID || pp.Class != "ListProxy" {
		t.Fatalf("d['list'] = %#v", pp)
	}
	l2, err := c.Attach(ctx, pp)
	if err != nil {
		t.Fatal(err)
	}
	call(t, l2, "append", "via nested proxy")
	if v := call(t, l, "__len__"); v != int64(3) {
		t.Errorf("len(l) after append through the nested proxy = %v", v)
	}

	// Concurrent calls each get a connection from the pool.
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				if _, err := l.Call(ctx, "append", g*100+i); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if v := call(t, l, "__len__"); v != int64(3+160) {
		t.Errorf("len(l) after concurrent appends = %v", v)
	}

	// Release everything: the manager's count goes back to 0.
	// d, l (twice: l2 is another reference to it), q, ev, lk, val, box, b2.
	if n, err := c.NumberOfObjects(ctx); err != nil || n != 8 {
		t.Errorf("number_of_objects = %d, %v (want 8)", n, err)
	}
	for _, p := range []*Proxy{d, l, q, ev, lk, val, box, b2, l2} {
		if err := p.Release(ctx); err != nil {
			t.Error(err)
		}
	}
	if n, err := c.NumberOfObjects(ctx); err != nil || n != 0 {
		info, _ := c.DebugInfo(ctx)
		t.Errorf("number_of_objects after release = %d, %v\n%s", n, err, info)
	}

	// A wrong key is refused with a clear error.
	_, err = Dial(ctx, s.network, s.address, []byte("wrong"), nil)
	if !errors.Is(err, wire.ErrAuth) {
		t.Errorf("wrong key: %v", err)
	}

	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
		if s.err != nil {
			t.Errorf("server exit: %v", s.err)
		}
	case <-time.After(60 * time.Second):
		t.Error("server still running 60 s after shutdown")
	}
}

// TestOpaqueValues: a CPython client and the Go client share one queue on a CPython
// manager. Python puts instances of its own classes (dataclasses, a frozen one as a dict
// key) nested in lists, dicts and tuples; Go gets them as Opaque values inside Go values,
// puts them on another queue, and Python reads back equal objects — plus a value Go made.
func TestOpaqueValues(t *testing.T) {
	for _, py := range pythons.ForTest(t) {
		t.Run(py.Version, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, py, "unix")
			ctx := context.Background()
			c, err := Dial(ctx, s.network, s.address, authkey, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			qa := create(t, c, "shared_queue", "a")
			qb := create(t, c, "shared_queue", "b")
			addr, _ := json.Marshal(s.address)
			runClient := func(mode string) {
				t.Helper()
				cmd := py.Command("testdata/client.py", mode, string(addr), hex.EncodeToString(authkey))
				out, err := cmd.CombinedOutput()
				if err != nil || strings.TrimSpace(string(out)) != "ok" {
					t.Fatalf("client.py %s: %v\n%s", mode, err, out)
				}
			}
			runClient("put")
			v := call(t, qa, "get", true, 60)
			l, ok := v.([]any)
			if !ok || len(l) != 4 {
				t.Fatalf("got %#v", v)
			}
			if o, ok := l[0].(pickle.Opaque); !ok {
				t.Errorf("l[0] = %#v, want Opaque", l[0])
			} else if mod, name := o.Global(); mod != "values" || name != "Point" {
				t.Errorf("l[0] is %s.%s", mod, name)
			}
			if d, ok := l[2].(*pickle.Dict); !ok || d.Len() != 1 {
				t.Errorf("l[2] = %#v", l[2])
			} else if _, ok := d.Keys()[0].(pickle.Opaque); !ok {
				t.Errorf("frozen dataclass key: %T", d.Keys()[0])
			}
			call(t, qb, "put", v)
			call(t, qb, "put", map[string]any{"go": []any{1, 2.5, []byte{0}}, "tuple": pickle.MustTuple(1, "x")})
			runClient("get")
		})
	}
}
