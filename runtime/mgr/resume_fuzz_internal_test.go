package mgr

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
)

// FuzzResumeHandshake sends arbitrary Resume requests on fresh authenticated connections:
// claims on the live session with wrong tokens, a closed session's real token replayed,
// garbage. The manager never panics, never resumes a session for a peer without its
// token — the answer is a refusal, or the connection ends — and the live session goes on
// untouched.
func FuzzResumeHandshake(f *testing.F) {
	m, err := StartInProcess(Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { m.Shutdown(context.Background()) })
	live := m.Client()
	// A session that closed: its real token, replayed, must be refused too.
	closed, err := Connect(context.Background(), m.Options())
	if err != nil {
		f.Fatal(err)
	}
	closedID, closedToken, epoch := closed.SessionID(), closed.rtoken, closed.epoch
	closed.Close()
	// The manager ends the session when it reads the Bye: wait for that, or a resume
	// with its token could still find it (and rightly resume it).
	for deadline := time.Now().Add(10 * time.Second); m.Server().NumSessions() > 1; {
		if time.Now().After(deadline) {
			f.Fatal("the closed session did not end")
		}
		time.Sleep(time.Millisecond)
	}

	resume := func(id uint64, token []byte, epoch, received uint64, pending ...uint64) []byte {
		e := Encoder{}
		e.Uint64(id)
		e.ByteSlice(token)
		e.Uint64(epoch)
		e.Uint64(received)
		e.Len(len(pending))
		for _, p := range pending {
			e.Uint64(p)
		}
		return e.buf
	}
	wrong := live.rtoken
	wrong[0] ^= 1
	f.Add(resume(live.SessionID(), wrong[:], epoch, 0))
	f.Add(resume(live.SessionID(), wrong[:], epoch, 1<<40, 1, 2, 3))
	f.Add(resume(live.SessionID(), live.rtoken[:31], epoch, 0))
	f.Add(resume(live.SessionID(), nil, epoch, 0))
	f.Add(resume(closedID, closedToken[:], epoch, 1))
	f.Add(resume(live.SessionID(), wrong[:], epoch+1, 0))
	f.Add(resume(1<<62, wrong[:], 0, 0))
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff})

	f.Fuzz(func(t *testing.T, body []byte) {
		if bytes.Contains(body, live.rtoken[:]) {
			t.Skip("the live session's token itself") // only its holder has it
		}
		conn, err := net.Dial(m.Address().Network, m.Address().Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		r := wire.NewReader(conn, wire.MaxHandshakeFrame)
		if err := wire.ClientHandshake(conn, r, m.AuthKey(), BinaryCodec{}.Name()); err != nil {
			t.Fatal(err)
		}
		r.SetMax(wire.DefaultMaxFrame)
		if err := wire.WriteFrame(conn, append([]byte{wire.KindResume}, body...)); err != nil {
			t.Fatal(err)
		}
		frame, err := r.Next()
		if err == nil {
			if len(frame) < 2 || frame[0] != wire.KindResumed || frame[1] == wire.ResumeOK {
				t.Fatalf("answer to a resume without the token: %x", frame)
			}
		}
		// The live session goes on: a call through it works.
		var n uint64
		if err := live.control(context.Background(), wire.CtlInfo, func(e *Encoder) { e.Uint64(0); e.Uint64(0) }, func(d *Decoder) {
			var p infoPage
			d.Value(&p)
			n = uint64(len(p.Sessions))
		}); err != nil || n == 0 {
			t.Fatalf("the live session after a false resume: %d sessions, %v", n, err)
		}
	})
}
