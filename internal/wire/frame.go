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

// MaxFrameLimit is the largest payload a length prefix can state (it is an int32).
const MaxFrameLimit = 1<<31 - 1

// ErrFrameTooLarge is wrapped by the error for a frame whose length prefix exceeds the
// reader's bound (or is negative). The reader rejects it before allocating anything.
var ErrFrameTooLarge = errors.New("mgr: frame too large")

// Reader reads frames from a stream. The slice Next returns is valid until the next call.
//
// A Reader can be resumed: when the stream returns an error that leaves it usable (a read
// deadline passing, which the client uses to wake a goroutine reading on behalf of
// others), the bytes of a frame read so far are kept and the next call to Next goes on
// where the last one stopped.
type Reader struct {
	r   *bufio.Reader
	src io.Reader // what r reads
	max int
	buf []byte // the payload buffer; its full capacity is in use

	// The frame in progress.
	hdr [HeaderSize]byte
	hn  int // header bytes read
	n   int // payload length, once hn == HeaderSize
	got int // payload bytes read
}

// NewReader returns a Reader that rejects frames larger than max bytes.
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	return &Reader{r: bufio.NewReaderSize(r, 32<<10), src: r, max: max}
}

// Source returns the stream the Reader reads.
func (r *Reader) Source() io.Reader { return r.src }

// SetMax changes the frame bound (the handshake runs with a small one).
func (r *Reader) SetMax(max int) { r.max = max }

// growStep is the frame size up to which the reader allocates a frame's buffer at once.
const growStep = 64 << 10

// Next reads one frame and returns its payload.
func (r *Reader) Next() ([]byte, error) {
	for r.hn < HeaderSize {
		m, err := r.r.Read(r.hdr[r.hn:])
		r.hn += m
		if r.hn == HeaderSize {
			if err := r.begin(); err != nil {
				return nil, err
			}
			break
		}
		if err != nil {
			if err == io.EOF && r.hn > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	// Beyond growStep the buffer grows (doubling) as the bytes arrive, so a length
	// prefix alone cannot make the reader allocate: its memory follows what the peer
	// really sent, not what it claimed.
	for r.got < r.n {
		if r.got == len(r.buf) {
			nb := make([]byte, r.got+min(r.n-r.got, max(len(r.buf), growStep)))
			copy(nb, r.buf[:r.got])
			r.buf = nb
		}
		m, err := r.r.Read(r.buf[r.got:min(r.n, len(r.buf))])
		r.got += m
		if err != nil && r.got < r.n {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	b := r.buf[:r.n]
	r.hn, r.n, r.got = 0, 0, 0
	// Keep small buffers around; drop huge ones so a single large frame does not pin
	// memory for the connection's life.
	if len(r.buf) > 1<<20 {
		r.buf = nil
	}
	return b, nil
}

// begin checks a complete length prefix and readies the buffer for its payload.
func (r *Reader) begin() error {
	n := int32(binary.BigEndian.Uint32(r.hdr[:]))
	if n < 0 {
		return fmt.Errorf("%w: negative length %d", ErrFrameTooLarge, n)
	}
	if int(n) > r.max {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, r.max)
	}
	r.n, r.got = int(n), 0
	if len(r.buf) < r.n && r.n <= growStep {
		r.buf = make([]byte, r.n)
	}
	return nil
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

// MaxUintFrame is the size of the largest frame AppendUintFrame writes.
const MaxUintFrame = HeaderSize + 1 + binary.MaxVarintLen64

// AppendUintFrame appends a whole frame of kind carrying one uvarint — a request ID
// (Cancel, CancelAck, Accept, Reject) or a count (Ack) — to dst. With dst a
// [MaxUintFrame]byte array's [:0], it does not allocate.
func AppendUintFrame(dst []byte, kind byte, n uint64) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, kind)
	dst = binary.AppendUvarint(dst, n)
	PutHeader(dst[start:], len(dst)-start-HeaderSize)
	return dst
}
