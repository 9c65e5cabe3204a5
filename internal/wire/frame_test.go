package wire

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
)

// scriptedReader returns its chunks one per Read, and err (once) where a chunk is nil.
type scriptedReader struct {
	chunks [][]byte
	err    error
}

func (s *scriptedReader) Read(p []byte) (int, error) {
	if len(s.chunks) == 0 {
		return 0, io.EOF
	}
	c := s.chunks[0]
	if c == nil {
		s.chunks = s.chunks[1:]
		return 0, s.err
	}
	n := copy(p, c)
	if n == len(c) {
		s.chunks = s.chunks[1:]
	} else {
		s.chunks[0] = c[n:]
	}
	return n, nil
}

// A read deadline can interrupt Next anywhere in a frame (the client wakes a goroutine
// reading for others this way); the next call must go on where the last one stopped.
func TestReaderResumesAfterTimeout(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), (3*growStep)/16) // beyond growStep: grows as it arrives
	var stream []byte
	for _, p := range [][]byte{[]byte("hello"), big, {}, []byte("x")} {
		f := make([]byte, HeaderSize, HeaderSize+len(p))
		PutHeader(f, len(p))
		stream = append(stream, append(f, p...)...)
	}
	// Cut the stream into pieces with a timeout between each: inside headers, inside
	// payloads, at boundaries.
	var chunks [][]byte
	for _, cut := range []int{2, 3, 4, 5, 1000, 70000, 120000, len(stream)} {
		done := 0
		for _, c := range chunks {
			if c != nil {
				done += len(c)
			}
		}
		if cut > done && cut <= len(stream) {
			chunks = append(chunks, stream[done:cut], nil)
		}
	}
	timeout := os.ErrDeadlineExceeded
	r := NewReader(&scriptedReader{chunks: chunks, err: timeout}, DefaultMaxFrame)
	var got [][]byte
	for len(got) < 4 {
		f, err := r.Next()
		if errors.Is(err, timeout) {
			continue
		}
		if err != nil {
			t.Fatalf("frame %d: %v", len(got), err)
		}
		got = append(got, bytes.Clone(f))
	}
	want := [][]byte{[]byte("hello"), big, {}, []byte("x")}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("frame %d: %d bytes, want %d", i, len(got[i]), len(want[i]))
		}
	}
	_, err := r.Next()
	for errors.Is(err, timeout) {
		_, err = r.Next()
	}
	if err != io.EOF {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
}
