package wire

import (
	"bytes"
	"io"
	"testing"
)

// FuzzHandshake feeds both handshakes arbitrary bytes from the peer: they never panic,
// and never let in a peer that cannot know the key (the server's nonce is random, so no
// fixed input can answer it).
func FuzzHandshake(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x10" + "0123456789abcdef"))
	f.Add([]byte("\x00\x00\x00\x28{sha256}" + "0123456789abcdef0123456789abcdef"))
	f.Add([]byte("\x00\x00\x00\x1f#CHALLENGE#01234567890123456789\x00\x00\x00\x09#WELCOME#"))
	f.Add([]byte("\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x05hello"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c := NewConn(struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(in), io.Discard}, 0)
		if err := ServerHandshake(c, []byte("key"), Modern); err == nil {
			t.Fatalf("a peer without the key got in with %q", in)
		}
		c = NewConn(struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(in), io.Discard}, 0)
		_ = ClientHandshake(c, []byte("key"), Legacy) // may pass (the server's side is what authenticates us); must not panic
	})
}
