package wire

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
)

// Fuzz targets for everything a peer can send before or around authentication. Seeds are
// both added here and checked in under testdata/fuzz/<Target>/; .ci/fuzz.sh runs each
// target for a bounded time.

var (
	fuzzKey   = []byte("fuzz authkey: the peer does not know it")
	fuzzCodec = "mgr-binary-1"
)

// heapAllocs returns the bytes allocated on the heap so far. runtime.ReadMemStats flushes
// the per-P caches, so the difference of two readings is exact for this goroutine while
// nothing else runs (a fuzz worker runs one input at a time).
func heapAllocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// allocSlack bounds what a handshake or a frame header may allocate besides the data:
// MACs, nonces, error messages.
const allocSlack = 16 << 10

// frames joins payloads into a stream of frames.
func frames(payloads ...[]byte) []byte {
	var b bytes.Buffer
	for _, p := range payloads {
		WriteFrame(&b, p)
	}
	return b.Bytes()
}

// clientTranscript returns what a real client sends for a handshake with a server whose
// first reply is challenge: a hello and a proof.
func clientTranscript(t testing.TB) []byte {
	// The proof depends on the server's random nonce, so a recorded proof never verifies
	// again; that is exactly what the seed is for (the fuzzer mutates a realistic shape).
	srvIn, cliOut := io.Pipe()
	cliIn, srvOut := io.Pipe()
	var rec bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- ServerHandshake(srvOut, NewReader(srvIn, MaxHandshakeFrame), fuzzKey, fuzzCodec)
		srvOut.Close()
	}()
	err := ClientHandshake(io.MultiWriter(cliOut, &rec), NewReader(cliIn, MaxHandshakeFrame), fuzzKey, fuzzCodec)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return rec.Bytes()
}

func FuzzReader(f *testing.F) {
	f.Add(frames([]byte("hello"), nil, []byte{1, 2, 3}), 16)
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff, 1, 2}, 1<<20) // huge length prefix, short body
	f.Add([]byte{0xff, 0xff, 0xff, 0xfe}, 64)          // negative length
	f.Add([]byte{0, 0, 1}, 8)                          // short header
	f.Add(frames(make([]byte, 300)), MaxHandshakeFrame)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max <= 0 || max > 1<<20 {
			max = DefaultMaxFrame
		}
		r := NewReader(bytes.NewReader(data), max)
		before := heapAllocs()
		read := 0
		for {
			b, err := r.Next()
			if err != nil {
				if err == io.EOF && read != len(data) {
					t.Fatalf("clean EOF after %d of %d bytes", read, len(data))
				}
				if errors.Is(err, ErrFrameTooLarge) && len(data)-read >= HeaderSize {
					// The rejected prefix must really be over the bound.
					n := int32(uint32(data[read])<<24 | uint32(data[read+1])<<16 | uint32(data[read+2])<<8 | uint32(data[read+3]))
					if n >= 0 && int(n) <= max {
						t.Fatalf("frame of %d bytes rejected with limit %d", n, max)
					}
				}
				break
			}
			if len(b) > max {
				t.Fatalf("frame of %d bytes passed limit %d", len(b), max)
			}
			if !bytes.Equal(b, data[read+HeaderSize:read+HeaderSize+len(b)]) {
				t.Fatal("frame payload differs from the stream")
			}
			read += HeaderSize + len(b)
		}
		if cap(r.buf) > max {
			t.Fatalf("reader holds a %d-byte buffer with limit %d", cap(r.buf), max)
		}
		// The reader's buffers follow the data that came in (doubling), never what a
		// length prefix merely claims.
		if got := heapAllocs() - before; got > uint64(4*len(data)+growStep)+allocSlack {
			t.Fatalf("reading %d bytes allocated %d bytes", len(data), got)
		}
	})
}

func FuzzServerHandshake(f *testing.F) {
	f.Add(clientTranscript(f))
	hello := append(append(append([]byte{}, magic...), 0, ProtocolVersion, byte(len(fuzzCodec))), fuzzCodec...)
	hello = append(hello, make([]byte, NonceSize)...)
	f.Add(frames(hello, make([]byte, 32)))
	f.Add(frames(hello))
	f.Add(frames([]byte("MGR\x00\x00\x01\xff")))                                     // codec length past the end
	f.Add(frames(append([]byte("MGR\x00\x00\x02\x00"), make([]byte, NonceSize)...))) // other version
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff})                                            // a 2 GiB hello
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		r := NewReader(bytes.NewReader(data), MaxHandshakeFrame)
		before := heapAllocs()
		err := ServerHandshake(&out, r, fuzzKey, fuzzCodec)
		got := heapAllocs() - before
		// The server's nonce is fresh, so no byte string chosen beforehand can prove
		// the key.
		if err == nil {
			t.Fatalf("handshake from %q authenticated without the key", data)
		}
		if !errors.Is(err, ErrHandshake) && !errors.Is(err, ErrAuth) && !errors.Is(err, ErrVersion) {
			t.Fatalf("error %v wraps none of ErrHandshake, ErrAuth, ErrVersion", err)
		}
		if cap(r.buf) > MaxHandshakeFrame {
			t.Fatalf("handshake reader grew to %d bytes", cap(r.buf))
		}
		if got > allocSlack {
			t.Fatalf("handshake over %d input bytes allocated %d bytes", len(data), got)
		}
		// What the server wrote back is well-formed frames, each within the bound.
		rr := NewReader(&out, MaxHandshakeFrame)
		for {
			if _, err := rr.Next(); err != nil {
				if err != io.EOF {
					t.Fatalf("server wrote a malformed frame: %v", err)
				}
				break
			}
		}
	})
}

func FuzzClientHandshake(f *testing.F) {
	// Real server replies (challenge, verdict) recorded from a live exchange, plus shapes.
	srvIn, cliOut := io.Pipe()
	cliIn, srvOut := io.Pipe()
	var rec bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- ServerHandshake(io.MultiWriter(srvOut, &rec), NewReader(srvIn, MaxHandshakeFrame), fuzzKey, fuzzCodec)
	}()
	if err := ClientHandshake(cliOut, NewReader(cliIn, MaxHandshakeFrame), fuzzKey, fuzzCodec); err != nil {
		f.Fatal(err)
	}
	if err := <-done; err != nil {
		f.Fatal(err)
	}
	f.Add(rec.Bytes())
	f.Add(frames(append([]byte{statusOK}, make([]byte, NonceSize)...), []byte{statusAuthFail}))
	f.Add(frames(append([]byte{statusOK}, make([]byte, NonceSize)...), append([]byte{statusOK}, make([]byte, 32)...)))
	f.Add(frames(append([]byte{statusVersion}, "manager speaks protocol 9"...)))
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), MaxHandshakeFrame)
		before := heapAllocs()
		err := ClientHandshake(io.Discard, r, fuzzKey, fuzzCodec)
		got := heapAllocs() - before
		// The client's nonce is fresh: no recorded or invented verdict can prove the key.
		if err == nil {
			t.Fatalf("client accepted a manager that does not hold the key: %q", data)
		}
		if !errors.Is(err, ErrHandshake) && !errors.Is(err, ErrAuth) && !errors.Is(err, ErrVersion) {
			t.Fatalf("error %v wraps none of ErrHandshake, ErrAuth, ErrVersion", err)
		}
		if cap(r.buf) > MaxHandshakeFrame {
			t.Fatalf("handshake reader grew to %d bytes", cap(r.buf))
		}
		if got > allocSlack {
			t.Fatalf("handshake over %d input bytes allocated %d bytes", len(data), got)
		}
	})
}
