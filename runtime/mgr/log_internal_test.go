package mgr

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// collectHandler keeps every record it is handed.
type collectHandler struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *collectHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *collectHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}
func (h *collectHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *collectHandler) WithGroup(string) slog.Handler      { return h }

// TestForwardLogPastOverlongRecord: a child manager's record longer than the forwarder's
// line bound (an error quoting a huge value) is reported cut, and the records after it
// still reach the parent. The forwarder used to stop at it and drop every later record
// of the child for the rest of its life.
func TestForwardLogPastOverlongRecord(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	h := &collectHandler{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		forwardLog(r, slog.New(h))
	}()
	child := childLogger(w, slog.LevelDebug)
	child.Warn("before")
	child.Warn("huge", slog.String(LogErr, strings.Repeat("x", 3<<20)))
	child.Warn("after", slog.Int("n", 7))
	w.Close()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("forwardLog did not end at the pipe's EOF")
	}
	var msgs []string
	for _, r := range h.recs {
		msgs = append(msgs, r.Message)
	}
	if len(msgs) != 3 || msgs[0] != "before" || !strings.Contains(msgs[1], "cut") || msgs[2] != "after" {
		t.Fatalf("records %q, want before, a cut record, after", msgs)
	}
	cut := h.recs[1]
	if cut.Level != slog.LevelWarn {
		t.Errorf("cut record at %v", cut.Level)
	}
	var size int64
	cut.Attrs(func(a slog.Attr) bool {
		if a.Key == "bytes" {
			size = a.Value.Int64()
		}
		return true
	})
	if size < 3<<20 {
		t.Errorf("cut record says %d bytes, want the line's length (over 3 MiB)", size)
	}
}
