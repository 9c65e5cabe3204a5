package mgr

import (
	"context"
	"testing"
	"time"
)

// TestShutdownDuringResumeEnds: Manager.Shutdown of an in-process manager while the
// client is resuming a broken connection (redials failing) returns at once, as before
// readToEnd: the client's end is the shutdown, not the resume window.
func TestShutdownDuringResumeEnds(t *testing.T) {
	m, err := StartInProcess(Options{ResumeWindow: 8 * time.Second, SpinWait: -1})
	if err != nil {
		t.Fatal(err)
	}
	c := m.client
	// Redials fail from now on: the listeners are closed.
	m.srv.mu.Lock()
	for ln := range m.srv.listeners {
		ln.Close()
	}
	m.srv.mu.Unlock()
	c.link.Load().conn.Close()
	c.startIdleReader()
	waitUntil(t, "the client to start resuming", func() bool { return c.State() == StateDisconnected })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	m.Shutdown(ctx)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Manager.Shutdown took %v with a resume in progress", d)
	}
}
