package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/pythons"
)

func pipe(t *testing.T) (*Conn, *Conn) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return NewConn(a, 0), NewConn(b, 0)
}

func TestFrames(t *testing.T) {
	a, b := pipe(t)
	go func() {
		a.WriteFrame(nil)
		a.WriteFrame([]byte("hello"))
		a.WriteFrame(bytes.Repeat([]byte("x"), 100000))
		buf := append(make([]byte, HeaderRoom), "framed"...)
		a.WriteFramed(PutHeader(buf))
	}()
	for _, want := range []string{"", "hello", strings.Repeat("x", 100000), "framed"} {
		got, err := b.ReadFrame()
		if err != nil || string(got) != want {
			t.Fatalf("ReadFrame = %d bytes, %v; want %d bytes", len(got), err, len(want))
		}
	}
}

// TestFrameForms reads what CPython readers accept, and refuses what they would misread.
func TestFrameForms(t *testing.T) {
	long := func(n uint64, payload string) []byte {
		b := []byte{0xff, 0xff, 0xff, 0xff}
		b = binary.BigEndian.AppendUint64(b, n)
		return append(b, payload...)
	}
	tests := []struct {
		name  string
		in    []byte
		max   int
		want  string
		error error
	}{
		{"short", []byte{0, 0, 0, 2, 'h', 'i'}, 0, "hi", nil},
		{"long form of a small frame", long(5, "hello"), 0, "hello", nil},
		{"empty", []byte{0, 0, 0, 0}, 0, "", nil},
		{"negative", []byte{0xff, 0xff, 0xff, 0xfe}, 0, "", ErrBadLength},
		{"over the limit", []byte{0, 0, 1, 0}, 16, "", ErrFrameTooLarge},
		{"long form over the limit", long(1<<40, ""), 0, "", ErrFrameTooLarge},
		{"cut payload", []byte{0, 0, 0, 9, 'a'}, 0, "", io.ErrUnexpectedEOF},
		{"cut long header", []byte{0xff, 0xff, 0xff, 0xff, 0}, 0, "", io.ErrUnexpectedEOF},
		{"nothing", nil, 0, "", io.EOF},
	}
	for _, tt := range tests {
		c := NewConn(struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(tt.in), io.Discard}, tt.max)
		got, err := c.ReadFrame()
		if !errors.Is(err, tt.error) || (err == nil && string(got) != tt.want) {
			t.Errorf("%s: ReadFrame = %q, %v; want %q, %v", tt.name, got, err, tt.want, tt.error)
		}
	}
	if h := AppendHeader(nil, 1<<31); len(h) != 12 || !bytes.Equal(h[:4], []byte{0xff, 0xff, 0xff, 0xff}) {
		t.Errorf("AppendHeader(2^31) = %x, want the -1 + 8-byte form", h)
	}
}

// TestHandshakeGo runs both sides in Go, in every combination of challenge forms, with
// the right key and a wrong one on either side.
func TestHandshakeGo(t *testing.T) {
	key := []byte("secret")
	for _, sf := range []Form{Modern, Legacy} {
		for _, cf := range []Form{Modern, Legacy} {
			for _, wrong := range []string{"", "server", "client"} {
				sk, ck := key, key
				switch wrong {
				case "server":
					sk = []byte("other")
				case "client":
					ck = []byte("other")
				}
				s, c := pipe(t)
				errc := make(chan error, 1)
				go func() { errc <- ServerHandshake(s, sk, sf) }()
				cerr := ClientHandshake(c, ck, cf)
				var serr error
				if wrong != "" && cerr != nil {
					// The client stopped at the first challenge; the server waits for
					// a welcome that never comes.
					s.rw.(net.Conn).Close()
				}
				serr = <-errc
				if wrong == "" && (serr != nil || cerr != nil) {
					t.Errorf("forms %d/%d: server %v, client %v", sf, cf, serr, cerr)
				}
				if wrong != "" && !errors.Is(serr, ErrAuth) && !errors.Is(cerr, ErrAuth) {
					t.Errorf("forms %d/%d, wrong %s key: server %v, client %v; want ErrAuth", sf, cf, wrong, serr, cerr)
				}
			}
		}
	}
}

func TestHandshakeRejectsJunk(t *testing.T) {
	for _, resp := range [][]byte{
		[]byte("{sha1}" + strings.Repeat("x", 20)),
		[]byte("no prefix at all, just bytes"),
		[]byte("{sha256" + strings.Repeat("x", 32)),
		bytes.Repeat([]byte("y"), 300),
	} {
		s, c := pipe(t)
		errc := make(chan error, 1)
		go func() { errc <- DeliverChallenge(s, []byte("k"), Modern) }()
		if _, err := c.ReadFrame(); err != nil {
			t.Fatal(err)
		}
		go func() { c.WriteFrame(resp); c.ReadFrame() }() // the #FAILURE#, if it comes
		if err := <-errc; !errors.Is(err, ErrAuth) {
			t.Errorf("answer %.12q: %v, want ErrAuth", resp, err)
		}
	}
}

// TestHandshakeCPython authenticates against real CPython peers of every version found:
// Go as the server of multiprocessing.connection.Client and as the client of its
// Listener, with both forms of challenge, then exchanges a frame; a wrong key fails on
// both sides.
func TestHandshakeCPython(t *testing.T) {
	for _, py := range pythons.ForTest(t) {
		t.Run(py.Version, func(t *testing.T) {
			for _, form := range []Form{Modern, Legacy} {
				for _, wrong := range []bool{false, true} {
					goServes(t, py, form, wrong)
					goConnects(t, py, form, wrong)
				}
			}
		})
	}
}

func peer(t *testing.T, py pythons.Python, role, family, addr string, key []byte) (*exec.Cmd, *bufio.Reader, *bytes.Buffer) {
	cmd := py.Command(filepath.Join("testdata", "peer.py"), role, family, addr, hex.EncodeToString(key))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, bufio.NewReader(out), &stderr
}

func checkExit(t *testing.T, cmd *exec.Cmd, stderr *bytes.Buffer, wrong bool) {
	err := cmd.Wait()
	var ee *exec.ExitError
	switch {
	case wrong && !(errors.As(err, &ee) && ee.ExitCode() == 3):
		t.Errorf("python with a wrong key: %v, want exit 3 (AuthenticationError); stderr: %s", err, stderr)
	case !wrong && err != nil:
		t.Errorf("python: %v; stderr: %s", err, stderr)
	}
}

func goServes(t *testing.T, py pythons.Python, form Form, wrong bool) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	key := []byte("the key")
	pkey := key
	if wrong {
		pkey = []byte("not the key")
	}
	cmd, _, stderr := peer(t, py, "connect", "tcp", ln.Addr().String(), pkey)
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	c := NewConn(nc, 0)
	err = ServerHandshake(c, key, form)
	if wrong {
		if !errors.Is(err, ErrAuth) {
			t.Errorf("form %d, wrong key: ServerHandshake = %v, want ErrAuth", form, err)
		}
		nc.Close()
		checkExit(t, cmd, stderr, true)
		return
	}
	if err != nil {
		t.Fatalf("form %d: ServerHandshake: %v; python: %s", form, err, stderr)
	}
	echo(t, c)
	checkExit(t, cmd, stderr, false)
}

func goConnects(t *testing.T, py pythons.Python, form Form, wrong bool) {
	sock := filepath.Join(t.TempDir(), "s")
	key := []byte("the key")
	pkey := key
	if wrong {
		pkey = []byte("not the key")
	}
	cmd, out, stderr := peer(t, py, "listen", "unix", sock, pkey)
	if line, err := out.ReadString('\n'); err != nil || line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("python listener: %q, %v; stderr: %s", line, err, stderr)
	}
	nc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	c := NewConn(nc, 0)
	err = ClientHandshake(c, key, form)
	if wrong {
		if !errors.Is(err, ErrAuth) {
			t.Errorf("form %d, wrong key: ClientHandshake = %v, want ErrAuth", form, err)
		}
		nc.Close()
		checkExit(t, cmd, stderr, true)
		return
	}
	if err != nil {
		t.Fatalf("form %d: ClientHandshake: %v; python: %s", form, err, stderr)
	}
	echo(t, c)
	checkExit(t, cmd, stderr, false)
}

func echo(t *testing.T, c *Conn) {
	if err := c.WriteFrame([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	got, err := c.ReadFrame()
	if err != nil || string(got) != "PING" {
		t.Fatalf("echo: %q, %v", got, err)
	}
}
