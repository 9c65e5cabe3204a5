// Package wire holds mgr's connection-level protocol: length-prefixed frames, the
// handshake (version negotiation and mutual HMAC authentication) and the message kinds.
// It knows nothing of objects or codecs; the runtime builds on it.
package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// HeaderSize is the size of a frame's length prefix: a big-endian int32, as in CPython's
// multiprocessing connections.
const HeaderSize = 4

// DefaultMaxFrame is the default bound on a frame's payload (16 MiB).
const DefaultMaxFrame = 16 << 20

// ErrFrameTooLarge is wrapped by the error for a frame whose length prefix exceeds the
// reader's bound (or is negative). The reader rejects it before allocating anything.
var ErrFrameTooLarge = errors.New("mgr: frame too large")

// Reader reads frames from a stream. The slice Next returns is valid until the next call.
type Reader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// NewReader returns a Reader that rejects frames larger than max bytes.
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	return &Reader{r: bufio.NewReaderSize(r, 32<<10), max: max}
}

// SetMax changes the frame bound (the handshake runs with a small one).
func (r *Reader) SetMax(max int) { r.max = max }

// Next reads one frame and returns its payload.
func (r *Reader) Next() ([]byte, error) {
	var hdr [HeaderSize]byte
	if _, err := io.ReadFull(r.r, hdr[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(hdr[:]))
	if n < 0 {
		return nil, fmt.Errorf("%w: negative length %d", ErrFrameTooLarge, n)
	}
	if int(n) > r.max {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, r.max)
	}
	if cap(r.buf) < int(n) {
		// Grow to what this frame needs; keep small buffers around, drop huge ones so a
		// single large frame does not pin memory for the connection's life.
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	if _, err := io.ReadFull(r.r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if cap(r.buf) > 1<<20 {
		r.buf = nil
	}
	return b, nil
}

// Buffered reports whether bytes are waiting in the read buffer.
func (r *Reader) Buffered() int { return r.r.Buffered() }

// PutHeader writes the length prefix for a payload of n bytes into b[:HeaderSize].
func PutHeader(b []byte, n int) { binary.BigEndian.PutUint32(b, uint32(n)) }

// WriteFrame writes payload as one frame.
func WriteFrame(w io.Writer, payload []byte) error {
	buf := make([]byte, HeaderSize+len(payload))
	PutHeader(buf, len(payload))
	copy(buf[HeaderSize:], payload)
	_, err := w.Write(buf)
	return err
}
