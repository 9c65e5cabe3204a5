package wire

import (
	"bytes"
	"testing"
)

// The last frame before a close must be on the connection when the write returns, even
// when another goroutine has announced a write of its own: WriteFrame leaves the flush
// to that goroutine, and a close right after would drop both frames (the manager's
// goodbye was lost this way when a cancelled call's reply raced with Shutdown, and the
// client saw EOF instead of ErrShutdown).
func TestWriteFrameFlushedDoesNotWaitForOthers(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	w.waiting.Add(1) // another writer is on its way to the lock
	frame := []byte{0, 0, 0, 1, 7}
	if err := w.WriteFrameFlushed(frame); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), frame) {
		t.Fatalf("on the connection after WriteFrameFlushed: %x, want %x", out.Bytes(), frame)
	}
	// The other writer still flushes its own frame and anything left behind.
	w.waiting.Add(-1)
	if err := w.WriteFrame(frame); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 2*len(frame) {
		t.Fatalf("after the other writer: %d bytes on the connection, want %d", out.Len(), 2*len(frame))
	}
}
