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
	b, err := r.body(int(n))
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	// Keep small buffers around; drop huge ones so a single large frame does not pin
	// memory for the connection's life.
	if cap(r.buf) > 1<<20 {
		r.buf = nil
	}
	return b, nil
}

// growStep is the frame size up to which the reader allocates a frame's buffer at once.
const growStep = 64 << 10

// body reads a frame's n-byte payload. Beyond growStep the buffer grows (doubling) as the
// bytes arrive, so a length prefix alone cannot make the reader allocate: its memory
// follows what the peer really sent, not what it claimed.
func (r *Reader) body(n int) ([]byte, error) {
	if cap(r.buf) >= n || n <= growStep {
		if cap(r.buf) < n {
			r.buf = make([]byte, n)
		}
		b := r.buf[:n]
		_, err := io.ReadFull(r.r, b)
		return b, err
	}
	b := r.buf[:0]
	for len(b) < n {
		if len(b) == cap(b) {
			nb := make([]byte, len(b), len(b)+min(n-len(b), max(cap(b), growStep)))
			copy(nb, b)
			b = nb
		}
		m, err := io.ReadFull(r.r, b[len(b):min(n, cap(b))])
		b = b[:len(b)+m]
		if err != nil {
			if err == io.EOF && len(b) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	r.buf = b
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
