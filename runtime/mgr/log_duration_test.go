package mgr

import (
	"bytes"
	"log/slog"
	"testing"
	"time"
)

// TestChildLogKeepsDurations: a Duration attribute a manager child logs (a slow call's
// duration) reaches the parent's handler as a Duration, not as an int64 of nanoseconds.
func TestChildLogKeepsDurations(t *testing.T) {
	var buf bytes.Buffer
	childLogger(&buf, slog.LevelInfo).Warn("mgr: slow call", slog.Duration("duration", 48662*time.Nanosecond), slog.Int("n", 3))
	rec, ok := decodeRecord(bytes.TrimSpace(buf.Bytes()))
	if !ok {
		t.Fatalf("decodeRecord refused %q", buf.String())
	}
	got := map[string]slog.Value{}
	rec.Attrs(func(a slog.Attr) bool { got[a.Key] = a.Value; return true })
	if d := got["duration"]; d.Kind() != slog.KindDuration || d.Duration() != 48662*time.Nanosecond {
		t.Errorf("duration came back as %v (%v), want the Duration 48.662µs; line %q", d, d.Kind(), buf.String())
	}
	if n := got["n"]; n.Kind() != slog.KindInt64 || n.Int64() != 3 {
		t.Errorf("n came back as %v (%v), want int64 3", n, n.Kind())
	}
}
