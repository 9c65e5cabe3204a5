package mgr_test

import (
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// TestSilentSessionLosesItsReferencesAfterTheLease plays a client whose network went
// quiet: it creates an object over a raw connection and then says nothing. After the
// lease the manager ends the session and drops the object.
func TestSilentSessionLosesItsReferencesAfterTheLease(t *testing.T) {
	m := startInProcess(t, mgr.Options{Lease: 300 * time.Millisecond})
	conn, r := rawSession(t, m)

	e := mgr.NewEncoder(append(make([]byte, wire.HeaderSize), wire.KindCall))
	e.Uint64(1)                  // request ID
	e.Uint64(wire.ControlObject) // the manager itself
	e.Uint64(wire.CtlCreate)
	e.Uint64(0) // no deadline
	e.String(counterTypeID)
	e.Int64(5)
	frame := e.Bytes()
	wire.PutHeader(frame, len(frame)-wire.HeaderSize)
	if _, err := conn.Write(frame); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	reply, err := r.Next()
	if err != nil || reply[0] != wire.KindReply {
		t.Fatalf("create reply %v, %v", reply, err)
	}
	if n := m.Server().NumObjects(); n != 1 {
		t.Fatalf("objects = %d, want 1", n)
	}
	// The in-process manager's own client pings, so only the raw session can expire.
	waitUntil(t, "the silent session to expire", 20*time.Second, func() bool {
		return m.Server().NumObjects() == 0 && m.Server().NumSessions() == 1
	})
}
