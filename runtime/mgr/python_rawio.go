package mgr

import (
	"net"
	"time"
)

// pyWriter bounds every write of replies to a CPython client as stallWriter bounds a Go
// session's: a client that stops reading for a whole lease fails the write. It writes
// with the raw writer when there is one (python_rawio_linux.go).
type pyWriter struct {
	conn     net.Conn
	raw      *rawIO
	timeout  time.Duration
	deadline time.Time
}

func (w *pyWriter) Write(p []byte) (int, error) {
	if now := time.Now(); w.deadline.Sub(now) < w.timeout/2 {
		w.deadline = now.Add(w.timeout)
		w.conn.SetWriteDeadline(w.deadline)
	}
	if w.raw != nil {
		return w.raw.Write(p)
	}
	return w.conn.Write(p)
}
