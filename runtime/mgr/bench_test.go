package mgr_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Microbenchmarks of the codec and of the manager's dispatch path, and a cross-process
// call round trip next to a raw Unix-socket ping-pong measured in the same run:
//
//	go test ./runtime/mgr -run '^$' -bench . -benchmem
//
// cmd/mgrbench measures the rest (net/rpc, CPython, scale) with real processes.

// Codec: the calls generated code makes for an int, a string and a []byte.

func BenchmarkEncoderInt(b *testing.B) {
	e := mgr.NewEncoder(make([]byte, 0, 64))
	buf := e.Bytes()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		*e = *mgr.NewEncoder(buf[:0])
		e.Int64(int64(i))
	}
}

func BenchmarkDecoderInt(b *testing.B) {
	frame := mgr.NewEncoder(nil)
	frame.Int64(123456789)
	d := mgr.NewDecoder(nil)
	b.ReportAllocs()
	for b.Loop() {
		*d = *mgr.NewDecoder(frame.Bytes())
		if d.Int64() != 123456789 {
			b.Fatal("bad value")
		}
	}
}

func BenchmarkEncoderString(b *testing.B) {
	e := mgr.NewEncoder(make([]byte, 0, 64))
	buf := e.Bytes()
	b.ReportAllocs()
	for b.Loop() {
		*e = *mgr.NewEncoder(buf[:0])
		e.String("a short string key")
	}
}

func BenchmarkDecoderString(b *testing.B) {
	frame := mgr.NewEncoder(nil)
	frame.String("a short string key")
	d := mgr.NewDecoder(nil)
	b.ReportAllocs()
	for b.Loop() {
		*d = *mgr.NewDecoder(frame.Bytes())
		if len(d.String()) != 18 {
			b.Fatal("bad value")
		}
	}
}

func BenchmarkDecoderBytes1K(b *testing.B) {
	frame := mgr.NewEncoder(nil)
	frame.ByteSlice(make([]byte, 1024))
	d := mgr.NewDecoder(nil)
	b.SetBytes(1024)
	b.ReportAllocs()
	for b.Loop() {
		*d = *mgr.NewDecoder(frame.Bytes())
		if len(d.ByteSlice()) != 1024 {
			b.Fatal("bad value")
		}
	}
}

// benchItem is a small struct as a user would pass through the reflection codec.
type benchItem struct {
	ID    int64
	Name  string
	Tags  []string
	Score float64
	Attrs map[string]int
}

var sampleItem = benchItem{ID: 42, Name: "widget", Tags: []string{"a", "bb", "ccc"}, Score: 3.5, Attrs: map[string]int{"x": 1, "y": 2}}

func BenchmarkBinaryCodecEncodeStruct(b *testing.B) {
	var c mgr.BinaryCodec
	e := mgr.NewEncoder(make([]byte, 0, 256))
	buf := e.Bytes()
	v := sampleItem
	b.ReportAllocs()
	for b.Loop() {
		*e = *mgr.NewEncoder(buf[:0])
		if err := c.Encode(e, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBinaryCodecDecodeStruct(b *testing.B) {
	var c mgr.BinaryCodec
	e := mgr.NewEncoder(nil)
	if err := c.Encode(e, &sampleItem); err != nil {
		b.Fatal(err)
	}
	frame := e.Bytes()
	d := mgr.NewDecoder(nil)
	b.ReportAllocs()
	for b.Loop() {
		*d = *mgr.NewDecoder(frame)
		var v benchItem
		if err := c.Decode(d, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDispatch is the manager's per-call dispatch of a method with an int argument
// and an int result: the TypeDesc's Method.Call decoding the argument, calling the method
// and encoding the result. Target: 0 allocs/op.
func BenchmarkDispatch(b *testing.B) {
	m := counterDesc.Methods[mAdd]
	obj, err := counterDesc.New(context.Background(), argsOf(func(e *mgr.Encoder) { e.Int64(0) }))
	if err != nil {
		b.Fatal(err)
	}
	frame := argsOf(func(e *mgr.Encoder) { e.Int64(1) })
	args := mgr.NewDecoder(nil)
	res := mgr.NewEncoder(make([]byte, 0, 64))
	buf := res.Bytes()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		*args = *frame
		*res = *mgr.NewEncoder(buf[:0])
		if err := m.Call(ctx, obj, args, res); err != nil {
			b.Fatal(err)
		}
	}
}

func argsOf(enc func(*mgr.Encoder)) *mgr.Decoder {
	e := mgr.NewEncoder(nil)
	enc(e)
	return mgr.NewDecoder(e.Bytes())
}

// Cross-process: BenchmarkRoundTrip calls Add through a proxy on a child-process manager
// (mgr.Start re-executes the test binary); BenchmarkPingPong bounces 16 bytes off a helper
// process (the test binary in the "pingpong" role) over a raw Unix socket — the floor any
// call between processes pays. Compare their ns/op from one run.

func BenchmarkRoundTrip(b *testing.B) {
	ctx := context.Background()
	m, err := mgr.Start(ctx, mgr.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Shutdown(ctx)
	p, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("seq", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Add(ctx, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("par64", func(b *testing.B) {
		b.SetParallelism(32) // 64 goroutines on 2 CPUs
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := p.Add(ctx, 1); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

const pingPongSockEnv = "MGR_TEST_PINGPONG_SOCK"

func BenchmarkPingPong(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "pp.sock")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperRoleEnv+"=pingpong", pingPongSockEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		b.Fatalf("pingpong helper: %q, %v", line, err)
	}
	conn, err := net.Dial("unix", path)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	var msg [16]byte
	b.ReportAllocs()
	for b.Loop() {
		if _, err := conn.Write(msg[:]); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(conn, msg[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// helperPingPong is the "pingpong" helper role: it echoes 16-byte messages on one
// connection to the Unix socket named by MGR_TEST_PINGPONG_SOCK.
func helperPingPong() int {
	ln, err := net.Listen("unix", os.Getenv(pingPongSockEnv))
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	os.Stdout.WriteString("ready\n")
	ln.(*net.UnixListener).SetDeadline(time.Now().Add(time.Minute))
	conn, err := ln.Accept()
	if err != nil {
		return 1
	}
	var buf [16]byte
	for {
		if _, err := io.ReadFull(conn, buf[:]); err != nil {
			return 0
		}
		if _, err := conn.Write(buf[:]); err != nil {
			return 0
		}
	}
}
