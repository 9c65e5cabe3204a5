package mgr

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
)

// TestChildCrashEndsClientPromptly: a child manager killed while its client's idle
// reader waits ends the client with ErrConnLost at once. The reader sees the
// connection's end first and starts a resume, which watchChild's readToEnd must end;
// once it did not, and only childGoneGrace ended the client. Here that grace and the
// resume window are an hour, so nothing but the prompt path can end the client within
// the test's wait.
func TestChildCrashEndsClientPromptly(t *testing.T) {
	m, err := Start(context.Background(), Options{ResumeWindow: time.Hour, childGoneGrace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.Shutdown(ctx)
	}()
	c := m.Client()
	// keepAlive starts the idle reader within idleReadEvery; it holds the reading role
	// while it waits.
	waitUntil(t, "the idle reader to read", func() bool { return len(c.readTok) == 1 })
	if err := syscall.Kill(m.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("client not done 60 s after the child was killed: it waits for its resume window or childGoneGrace (an hour each here)")
	}
	if err := c.Err(); !errors.Is(err, ErrConnLost) {
		t.Errorf("client ended with %v, want ErrConnLost", err)
	}
}
