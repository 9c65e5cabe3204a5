package mgr_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// stuckHandler is a parent's log handler that stops: every record waits until release
// is closed (a handler writing to a full disk, or one that calls the manager itself).
type stuckHandler struct {
	once    sync.Once
	stuck   chan struct{} // closed at the first record
	release chan struct{}
	mu      sync.Mutex
	msgs    []string
}

func (h *stuckHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *stuckHandler) Handle(_ context.Context, r slog.Record) error {
	h.once.Do(func() { close(h.stuck) })
	<-h.release
	h.mu.Lock()
	h.msgs = append(h.msgs, r.Message)
	h.mu.Unlock()
	return nil
}
func (h *stuckHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *stuckHandler) WithGroup(string) slog.Handler      { return h }

// A parent whose log handler stops must not stop its child manager: the child's records
// fill the pipe, and a manager that waited to write one would stall every call that logs
// (here each call is a slow call). The child drops what does not fit, and says how many
// once the pipe drains.
func TestStuckParentLoggerDoesNotStallChildManager(t *testing.T) {
	ctx := testCtx(t)
	h := &stuckHandler{stuck: make(chan struct{}), release: make(chan struct{})}
	m, err := mgr.Start(ctx, mgr.Options{Logger: slog.New(h), SlowCall: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	released := false
	defer func() {
		if !released {
			close(h.release)
		}
	}()
	// A client of its own, without the Logger: its own slow-call records would wait for
	// the stuck handler in this process.
	c, err := mgr.Connect(ctx, mgr.Options{Address: m.Address(), AuthKey: m.AuthKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := createCounter(ctx, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Far more records than a pipe holds (64 KiB, a few hundred records).
	const calls = 3000
	cctx, cancel := context.WithTimeout(ctx, 40*time.Second)
	defer cancel()
	for i := range calls {
		if _, err := p.Add(cctx, 1); err != nil {
			t.Fatalf("call %d of %d with the parent's log handler stuck: %v", i+1, calls, err)
		}
	}
	select {
	case <-h.stuck:
	default:
		t.Fatal("no record reached the parent's handler")
	}
	close(h.release)
	released = true
	// Once the handler goes on, the child says what it dropped.
	deadline := time.Now().Add(30 * time.Second)
	for {
		h.mu.Lock()
		found := false
		for _, msg := range h.msgs {
			found = found || strings.Contains(msg, "dropped")
		}
		h.mu.Unlock()
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no record saying how many records the child dropped")
		}
		// The child writes its notice before its next record: make one.
		if _, err := p.Add(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
}
