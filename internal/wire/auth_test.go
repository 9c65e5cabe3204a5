package wire

import (
	"bytes"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// Handshake tests over real Unix sockets: each case runs ServerHandshake on an accepted
// connection and a client (real or hostile) on the dialled one.

func unixPair(t *testing.T) (srv, cli net.Conn) {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	cli, err = net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv = <-acc
	if srv == nil {
		t.Fatal("accept failed")
	}
	deadline := time.Now().Add(20 * time.Second)
	srv.SetDeadline(deadline)
	cli.SetDeadline(deadline)
	t.Cleanup(func() { srv.Close(); cli.Close() })
	return srv, cli
}

// serve runs the server side of a handshake and reports its error.
func serve(srv net.Conn, key []byte) <-chan error {
	errc := make(chan error, 1)
	go func() {
		err := ServerHandshake(srv, NewReader(srv, MaxHandshakeFrame), key, fuzzCodec)
		srv.Close()
		errc <- err
	}()
	return errc
}

// recorder keeps what a client wrote.
type recorder struct {
	net.Conn
	buf bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	r.buf.Write(p)
	return r.Conn.Write(p)
}

func TestWrongKeyFailsOnBothSides(t *testing.T) {
	srv, cli := unixPair(t)
	errc := serve(srv, []byte("the manager's key"))
	cerr := ClientHandshake(cli, NewReader(cli, MaxHandshakeFrame), []byte("another key"), fuzzCodec)
	if !errors.Is(cerr, ErrAuth) {
		t.Errorf("client: %v, want ErrAuth", cerr)
	}
	if serr := <-errc; !errors.Is(serr, ErrAuth) {
		t.Errorf("server: %v, want ErrAuth", serr)
	}
}

func TestRightKeyAuthenticatesBothSides(t *testing.T) {
	srv, cli := unixPair(t)
	errc := serve(srv, fuzzKey)
	if err := ClientHandshake(cli, NewReader(cli, MaxHandshakeFrame), fuzzKey, fuzzCodec); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestReplayedTranscriptIsRejected records a real client's bytes against one server
// connection and replays them to a fresh one: the new server nonce makes the recorded
// proof worthless.
func TestReplayedTranscriptIsRejected(t *testing.T) {
	srv, cli := unixPair(t)
	errc := serve(srv, fuzzKey)
	rec := &recorder{Conn: cli}
	if err := ClientHandshake(rec, NewReader(cli, MaxHandshakeFrame), fuzzKey, fuzzCodec); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}

	srv2, cli2 := unixPair(t)
	errc = serve(srv2, fuzzKey)
	if _, err := cli2.Write(rec.buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrAuth) {
		t.Fatalf("server given a replayed transcript: %v, want ErrAuth", err)
	}
	// The replaying peer is told no (challenge, then AuthFail), never OK.
	r := NewReader(cli2, MaxHandshakeFrame)
	if ch, err := r.Next(); err != nil || len(ch) != 1+NonceSize || ch[0] != statusOK {
		t.Fatalf("challenge %x, %v", ch, err)
	}
	if v, err := r.Next(); err != nil || !bytes.Equal(v, []byte{statusAuthFail}) {
		t.Fatalf("verdict %x, %v; want AuthFail", v, err)
	}
}

// TestTruncatedHandshakes cuts a real client's transcript at every byte and closes: the
// server fails with ErrHandshake (never authenticates, never hangs).
func TestTruncatedHandshakes(t *testing.T) {
	transcript := clientTranscript(t)
	for cut := range len(transcript) {
		srv, cli := unixPair(t)
		errc := serve(srv, fuzzKey)
		if _, err := cli.Write(transcript[:cut]); err != nil {
			t.Fatal(err)
		}
		cli.(*net.UnixConn).CloseWrite()
		// Drain what the server says so it is never blocked writing.
		go func() {
			var b [512]byte
			for {
				if _, err := cli.Read(b[:]); err != nil {
					return
				}
			}
		}()
		err := <-errc
		if err == nil {
			t.Fatalf("cut at %d of %d bytes: authenticated", cut, len(transcript))
		}
		// The full hello and a cut proof is an auth failure only if a whole (wrong) proof
		// frame arrived, which a cut cannot give; everything else is a broken handshake.
		if !errors.Is(err, ErrHandshake) {
			t.Fatalf("cut at %d of %d bytes: %v, want ErrHandshake", cut, len(transcript), err)
		}
	}
}

// TestHandshakeFramesAreBounded: a peer announcing a large hello is refused before the
// server allocates for it.
func TestHandshakeFramesAreBounded(t *testing.T) {
	srv, cli := unixPair(t)
	errc := serve(srv, fuzzKey)
	cli.Write([]byte{0x00, 0x10, 0x00, 0x00}) // a 1 MiB hello
	err := <-errc
	if !errors.Is(err, ErrHandshake) || !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("1 MiB hello: %v, want ErrHandshake wrapping ErrFrameTooLarge", err)
	}
}

// TestReaderGrowsWithTheData pins the frame reader's growth: a frame that claims 16 MiB
// but delivers a few bytes costs what arrived, not what was claimed; a real large frame
// still reads whole.
func TestReaderGrowsWithTheData(t *testing.T) {
	claim := []byte{0x01, 0x00, 0x00, 0x00, 1, 2, 3} // 16 MiB claimed, 3 bytes sent
	r := NewReader(bytes.NewReader(claim), DefaultMaxFrame)
	before := heapAllocs()
	if _, err := r.Next(); err == nil {
		t.Fatal("short frame read")
	}
	if got := heapAllocs() - before; got > growStep+allocSlack {
		t.Fatalf("a claimed 16 MiB frame with 3 bytes allocated %d bytes", got)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 300_000) // 4.8 MB
	r = NewReader(bytes.NewReader(frames(big, []byte("next"))), DefaultMaxFrame)
	if b, err := r.Next(); err != nil || !bytes.Equal(b, big) {
		t.Fatalf("large frame: %d bytes, %v", len(b), err)
	}
	if b, err := r.Next(); err != nil || string(b) != "next" {
		t.Fatalf("frame after a large one: %q, %v", b, err)
	}
}
