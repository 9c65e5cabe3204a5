// Package wire speaks the transport of CPython's multiprocessing connections: its frames
// (a 4-byte big-endian signed length, or -1 and an 8-byte length for large payloads) and
// its mutual HMAC challenge, in both the form of Python 3.12 and later ("{sha256}" with a
// 40-byte nonce) and the legacy form of 3.11 and earlier (a 20-byte nonce answered with a
// raw HMAC-MD5), as a server and as a client.
//
// It knows nothing of pickle: payloads are bytes. Nothing a peer sends is interpreted
// before it has authenticated, and every handshake frame is bounded (MaxHandshakeFrame).
package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxHandshakeFrame bounds every handshake frame, as CPython's recv_bytes(256) does.
const MaxHandshakeFrame = 256

// DefaultMaxFrame bounds a frame when the caller gives no limit. CPython itself has none;
// a manager must, or one peer could make it allocate without end.
const DefaultMaxFrame = 64 << 20

// smallFrame is the payload size up to which CPython sends header and payload in one
// write (bpo-20540); we always write one buffer, which is at least as good.
const smallFrame = 16384

// ErrFrameTooLarge is returned when a frame's announced length is over the reader's
// limit. The payload has not been read: the connection cannot be used further.
var ErrFrameTooLarge = errors.New("pyproto/wire: frame over the size limit")

// ErrBadLength is returned for a negative length other than the -1 escape. CPython would
// read such a frame as empty; we refuse it, since no CPython writer ever sends one.
var ErrBadLength = errors.New("pyproto/wire: negative frame length")

// Conn reads and writes frames over a byte stream. It buffers reads, so once a Conn has
// been made for a stream, all reading must go through it. A Conn is not safe for
// concurrent use by several readers or several writers; one reader and one writer may
// run at once.
type Conn struct {
	rw   io.ReadWriter
	w    io.Writer // where frames are written: rw unless SetWriter changed it
	r    *bufio.Reader
	max  int
	rbuf []byte
	wbuf []byte
	hdr  [8]byte // a frame's header as it is read: a field, so that reading allocates nothing
}

// NewConn returns a Conn over rw whose frames are limited to max bytes (DefaultMaxFrame
// when max <= 0).
func NewConn(rw io.ReadWriter, max int) *Conn {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	return &Conn{rw: rw, w: rw, r: bufio.NewReaderSize(rw, 8192), max: max}
}

// SetWriter sends later frames to w instead (a writer that bounds how long a write may
// stall, say); reading is unchanged, buffered data included.
func (c *Conn) SetWriter(w io.Writer) { c.w = w }

// SetMax changes the frame limit (handshakes use MaxHandshakeFrame, then a larger one).
func (c *Conn) SetMax(max int) {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	c.max = max
}

// Buffered reports how many bytes have been read from the stream but not yet returned.
func (c *Conn) Buffered() int { return c.r.Buffered() }

// ReadFrame reads one frame. The returned slice is valid until the next ReadFrame. At a
// clean end of stream before a frame it returns io.EOF; a stream that ends inside a frame
// gives io.ErrUnexpectedEOF.
func (c *Conn) ReadFrame() ([]byte, error) {
	return c.readFrame(c.max)
}

func (c *Conn) readFrame(max int) ([]byte, error) {
	hdr := &c.hdr
	if _, err := io.ReadFull(c.r, hdr[:4]); err != nil {
		return nil, err // io.EOF when nothing came, ErrUnexpectedEOF inside the header
	}
	n := int64(int32(binary.BigEndian.Uint32(hdr[:4])))
	if n == -1 {
		if _, err := io.ReadFull(c.r, hdr[:8]); err != nil {
			return nil, noEOF(err)
		}
		u := binary.BigEndian.Uint64(hdr[:8])
		if u > uint64(max) {
			return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, u, max)
		}
		n = int64(u)
	} else if n < 0 {
		return nil, fmt.Errorf("%w: %d", ErrBadLength, n)
	}
	if n > int64(max) {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, max)
	}
	if cap(c.rbuf) < int(n) {
		c.rbuf = make([]byte, n)
	}
	buf := c.rbuf[:n]
	if _, err := io.ReadFull(c.r, buf); err != nil {
		return nil, noEOF(err)
	}
	// Don't let one large frame pin its buffer for the life of the connection.
	if cap(c.rbuf) > 1<<20 {
		c.rbuf = nil
	}
	return buf, nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// AppendHeader appends the header of an n-byte frame to dst: the 4-byte form when n fits,
// which every CPython reader understands, else -1 and the 8-byte length.
func AppendHeader(dst []byte, n int) []byte {
	if n <= 0x7fffffff {
		return binary.BigEndian.AppendUint32(dst, uint32(n))
	}
	dst = binary.BigEndian.AppendUint32(dst, 0xffffffff)
	return binary.BigEndian.AppendUint64(dst, uint64(n))
}

// WriteFrame writes p as one frame, in one write when it is small.
func (c *Conn) WriteFrame(p []byte) error {
	if len(p) <= smallFrame {
		c.wbuf = append(AppendHeader(c.wbuf[:0], len(p)), p...)
		_, err := c.w.Write(c.wbuf)
		return err
	}
	var hdr [12]byte
	if _, err := c.w.Write(AppendHeader(hdr[:0], len(p))); err != nil {
		return err
	}
	_, err := c.w.Write(p)
	return err
}

// WriteFramed writes buf, which already holds a frame's header (reserved with
// HeaderRoom and filled by PutHeader), in one write.
func (c *Conn) WriteFramed(buf []byte) error {
	_, err := c.w.Write(buf)
	return err
}

// HeaderRoom is the room to reserve before a payload that PutHeader will frame.
const HeaderRoom = 12

// PutHeader frames the payload buf[HeaderRoom:] in place and returns the frame: the
// header is written right-aligned into the reserved room, so the frame can go out in one
// write without copying the payload.
func PutHeader(buf []byte) []byte {
	n := len(buf) - HeaderRoom
	var hdr [HeaderRoom]byte
	h := AppendHeader(hdr[:0], n)
	start := HeaderRoom - len(h)
	copy(buf[start:], h)
	return buf[start:]
}
