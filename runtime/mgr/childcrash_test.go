package mgr_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// TestChildCrashEndsClientPromptly: a child manager killed while its client's idle
// reader waits ends the client with ErrConnLost at once — not after childGoneGrace: the
// reader sees the connection's end first and starts a resume, which watchChild's
// readToEnd must end.
func TestChildCrashEndsClientPromptly(t *testing.T) {
	m, err := mgr.Start(context.Background(), mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	time.Sleep(400 * time.Millisecond) // keepAlive's idle tick: the idle reader reads
	start := time.Now()
	if err := syscall.Kill(m.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.Client().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("client not done 10 s after the child was killed")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("client ended %v after the child was killed", d)
	}
	if err := m.Client().Err(); !errors.Is(err, mgr.ErrConnLost) {
		t.Errorf("client ended with %v, want ErrConnLost", err)
	}
}
