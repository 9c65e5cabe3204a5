package wire

import (
	"bufio"
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
