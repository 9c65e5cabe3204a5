package wire

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// Writer writes whole frames from many goroutines and coalesces them: a writer that
// sees others queued behind it leaves the flush to the last one, so under load many
// frames share one system call, and a lone frame is flushed at once.
type Writer struct {
	mu      sync.Mutex
	bw      *bufio.Writer
	waiting atomic.Int32
	err     error
	log     *ReplayLog // nil: frames are not kept
}

// NewWriter returns a Writer over w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, 64<<10)}
}

// WriteFrame writes frame, which must already start with its HeaderSize-byte length
// prefix. After the first write error every call returns that error.
func (w *Writer) WriteFrame(frame []byte) error {
	w.waiting.Add(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	last := w.waiting.Add(-1) == 0
	if err := w.appendLocked(frame); err != nil || !last {
		return err
	}
	return w.flushLocked()
}

// WriteFrameFlushed writes frame and flushes the buffer before it returns, whoever else
// is queued to write. WriteFrame leaves the flush to a writer queued behind it, which is
// right while the connection lives and wrong for the last frame before a close (a
// goodbye, a Bye): the close would come before that writer's flush and drop the frame.
func (w *Writer) WriteFrameFlushed(frame []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.appendLocked(frame); err != nil {
		return err
	}
	return w.flushLocked()
}

// WriteFrameBuffered writes frame but leaves it in the buffer: a reader that has more
// requests already buffered answers them all and flushes once, so pipelined calls share
// one system call. The caller must call Flush (or a later WriteFrame flushes it) before
// it waits for anything.
func (w *Writer) WriteFrameBuffered(frame []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.appendLocked(frame)
}

// Flush writes out whatever WriteFrameBuffered left in the buffer.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil || w.bw.Buffered() == 0 {
		return w.err
	}
	return w.flushLocked()
}

func (w *Writer) appendLocked(frame []byte) error {
	if w.log != nil {
		w.log.record(frame) // kept even when the connection has failed: a resume sends it
	}
	if w.err != nil {
		return w.err
	}
	if _, err := w.bw.Write(frame); err != nil {
		w.err = err
	}
	return w.err
}

func (w *Writer) flushLocked() error {
	if err := w.bw.Flush(); err != nil {
		w.err = err
	}
	return w.err
}

// NewLoggedWriter returns a Writer over w that keeps what it writes in log until the
// peer acknowledges it, so that Resume can send it again over a new connection.
func NewLoggedWriter(w io.Writer, log *ReplayLog) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, 64<<10), log: log}
}

// Ack forgets the logged frames numbered up to n; it reports false for a number beyond
// what was written.
func (w *Writer) Ack(n uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.log.ack(n)
}

// ErrCannotResume is wrapped by Resume's error when the session cannot go on (the log gave
// up, or the peer's count is wrong); any other error is the new connection's failure.
var ErrCannotResume = errors.New("mgr: cannot resume")

// Resume moves the Writer to a new connection: it drops what was buffered for the old
// one and any error it left, writes first (a frame not logged: the answer to the peer's
// resume request), then every logged frame numbered after acked, and flushes. It fails
// without writing when the log overflowed or acked is beyond what was written.
func (w *Writer) Resume(nw io.Writer, first []byte, acked uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.log == nil || w.log.overflow {
		return fmt.Errorf("%w: the frames sent since the break were not all kept", ErrCannotResume)
	}
	if !w.log.ack(acked) {
		return fmt.Errorf("%w: the peer acknowledges frame %d of %d sent", ErrCannotResume, acked, w.log.Sent())
	}
	w.bw.Reset(nw)
	w.err = nil
	if _, err := w.bw.Write(first); err != nil {
		w.err = err
		return err
	}
	if err := w.log.replay(w.bw); err != nil {
		w.err = err
		return err
	}
	return w.flushLocked()
}

// Sent returns how many frames the Writer has written, when it keeps a log.
func (w *Writer) Sent() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.log == nil {
		return 0
	}
	return w.log.Sent()
}

// Err returns the error that failed the Writer, or nil while it can write (a Resume clears
// it).
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
