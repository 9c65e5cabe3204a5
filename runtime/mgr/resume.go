package mgr

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
)

// Sessions that outlive their connection (the manager's side; the client's is
// client_resume.go, the protocol internal/wire/messages.go).
//
// A connection that ends without the client's Bye is a break, unless the manager can see
// that the client's process is gone: then the session ends at once, as it always did. A
// break detaches the session instead: its calls go on, their replies are kept in the
// session's replay log (wire.ReplayLog, trimmed as the client acknowledges what it got),
// and a timer ends the session when the resume window passes. A client that redials in
// time sends Resume; the manager checks the session's token, moves the session to the
// new connection, tells the client which of its waiting calls it never read, and sends
// again what the client missed.

// maxReplayLog bounds the frames a session keeps for its client until acknowledged. A
// client acknowledges every few dozen frames, so this is only reached by a client that
// stopped acknowledging — or by replies larger than it, after which a break ends the
// session instead of detaching it.
const maxReplayLog = 32 << 20

// maxSeenAhead bounds the request IDs above the contiguous prefix a session remembers:
// a client sends its IDs nearly in order.
const maxSeenAhead = 1 << 14

// errClientBye is handleFrame's word that the client closed the session on purpose.
var errClientBye = errors.New("the client said bye")

// seenIDs is the set of request IDs a session has read: all of 1..low, and some above.
type seenIDs struct {
	low   uint64
	above map[uint64]struct{}
}

// markSeen records reqID as read and reports whether it is new; a client that overruns
// maxSeenAhead gets an error.
func (sess *session) markSeen(reqID uint64) (bool, error) {
	sess.cmu.Lock()
	defer sess.cmu.Unlock()
	s := &sess.seen
	if reqID <= s.low {
		return false, nil
	}
	if reqID == s.low+1 {
		s.low++
		for len(s.above) > 0 {
			if _, ok := s.above[s.low+1]; !ok {
				break
			}
			delete(s.above, s.low+1)
			s.low++
		}
		return true, nil
	}
	if _, ok := s.above[reqID]; ok {
		return false, nil
	}
	if len(s.above) >= maxSeenAhead {
		return false, fmt.Errorf("request ID %d is more than %d ahead of %d", reqID, maxSeenAhead, s.low)
	}
	if s.above == nil {
		s.above = map[uint64]struct{}{}
	}
	s.above[reqID] = struct{}{}
	return true, nil
}

// setBase records that the client's request IDs in this session are all above base (a
// client starting a new session after a manager restart goes on counting).
func (s *seenIDs) setBase(base uint64) {
	if base <= s.low {
		return
	}
	s.low = base
	for id := range s.above {
		if id <= base {
			delete(s.above, id)
		}
	}
	for len(s.above) > 0 {
		if _, ok := s.above[s.low+1]; !ok {
			break
		}
		delete(s.above, s.low+1)
		s.low++
	}
}

func (s *seenIDs) has(id uint64) bool {
	if id <= s.low {
		return true
	}
	_, ok := s.above[id]
	return ok
}

// closeConn closes the session's current connection after a write failed; its reader
// then ends or detaches the session. A write that failed on a connection a resume has
// replaced since finds the writer healthy again, and leaves the new one alone.
func (sess *session) closeConn() {
	sess.lmu.Lock() // a resume resets the writer under lmu too
	defer sess.lmu.Unlock()
	if sess.w.Err() != nil {
		sess.conn.Close()
	}
}

// attach gives sess the connection conn (at the start, or on a resume); lmu is held.
func (sess *session) attach(conn net.Conn) {
	sess.conn = conn
	sess.gen++
	sess.alive = peerAlive(conn) // peer_linux.go
}

// newToken returns a fresh resume token.
func newToken() (t [32]byte) {
	rand.Read(t[:])
	return t
}

// connLost handles the end of connection gen of sess: the session ends, or waits to be
// resumed.
func (s *Server) connLost(sess *session, gen uint64, why error) {
	window := s.opts.resumeWindow()
	sess.lmu.Lock()
	if sess.gen != gen || sess.detached {
		sess.lmu.Unlock()
		return // a resume moved the session to another connection already
	}
	switch {
	case sess.bye:
		why = nil
	case window <= 0 || s.shutting.Load() || !sess.helloed:
	case sess.alive != nil && !sess.alive():
		why = fmt.Errorf("the client's process has exited (%v)", why)
	default:
		sess.detached = true
		sess.conn.Close()
		sess.expire = time.AfterFunc(window, func() { s.expireDetached(sess, gen, window, why) })
		alive := sess.alive
		sess.lmu.Unlock()
		if alive != nil {
			go s.watchPeer(sess, gen, alive)
		}
		s.opts.logAt(slog.LevelInfo, "mgr: session lost its connection; kept to be resumed", slog.Uint64(LogSession, sess.id), slog.Any(LogErr, why), slog.Duration("window", window))
		return
	}
	sess.lmu.Unlock()
	s.endSession(sess, why)
}

// watchPeer ends a detached session whose client process turns out to have died: a
// killed process's sockets are closed while it exits, a moment before the kernel shows
// it as gone, so the check at the break can still see it running. It looks for a while
// after the break (peerWatch), at growing intervals.
func (s *Server) watchPeer(sess *session, gen uint64, alive func() bool) {
	for d, waited := time.Millisecond, time.Duration(0); waited < peerWatch; d = min(2*d, 100*time.Millisecond) {
		t := time.NewTimer(d)
		select {
		case <-sess.done:
			t.Stop()
			return
		case <-t.C:
		}
		waited += d
		sess.lmu.Lock()
		still := sess.detached && sess.gen == gen
		sess.lmu.Unlock()
		if !still {
			return
		}
		if !alive() {
			s.endSession(sess, errors.New("the client's process has exited"))
			return
		}
	}
}

// peerWatch is how long after a break watchPeer looks for the client's death.
const peerWatch = 2 * time.Second

// expireDetached ends a session that was not resumed within the window.
func (s *Server) expireDetached(sess *session, gen uint64, window time.Duration, why error) {
	sess.lmu.Lock()
	still := sess.detached && sess.gen == gen
	sess.lmu.Unlock()
	if still {
		s.endSession(sess, fmt.Errorf("not resumed within %s of its connection's loss (%v)", window, why))
	}
}

// resume handles a Resume frame, the first on a new connection: it moves the session it
// names to conn, and serves it there. A refusal is said, and the connection closed.
func (s *Server) resume(conn net.Conn, r *wire.Reader, frame []byte) {
	d := Decoder{buf: frame, off: 1}
	id := d.Uint64()
	token := d.ByteSlice()
	epoch := d.Uint64()
	received := d.Uint64()
	n := d.Len(1)
	pending := make([]uint64, 0, max(n, 0))
	for range n {
		pending = append(pending, d.Uint64())
	}
	if err := d.Done(); err != nil {
		s.refuseResume(conn, wire.ResumeRefused, fmt.Sprintf("malformed resume request: %v", err))
		return
	}
	if s.shutting.Load() {
		s.refuseResume(conn, wire.ResumeShutdown, "the manager is shutting down")
		return
	}
	if epoch != s.epoch {
		if s.adoptSession(conn, r, epoch, id, token, pending) { // backend.go
			return
		}
		s.refuseResume(conn, wire.ResumeRestarted, "the manager has restarted since: the session, its objects and their IDs are gone")
		return
	}
	s.mu.RLock()
	sess := s.sessions[id]
	s.mu.RUnlock()
	if sess == nil || len(token) != len(sess.token) || subtle.ConstantTimeCompare(token, sess.token[:]) != 1 {
		s.refuseResume(conn, wire.ResumeRefused, fmt.Sprintf("no session %d to resume with that token: it has ended (its window passed, or it closed), or never was", id))
		return
	}

	// The answer: pending calls never read, and reserved outcomes not yet answered.
	sess.cmu.Lock()
	var unseen, reserved []uint64
	for _, id := range pending {
		if !sess.seen.has(id) {
			unseen = append(unseen, id)
		}
	}
	for id := range sess.reserved {
		reserved = append(reserved, id)
	}
	gone := sess.gone
	sess.cmu.Unlock()
	ans := resumedFrame(wire.ResumeOK, s.epoch, "", unseen, reserved)

	sess.lmu.Lock()
	select {
	case <-sess.done: // ended since: endSession closes done before it takes lmu
		gone = true
	default:
	}
	if gone || s.shutting.Load() {
		sess.lmu.Unlock()
		if s.shutting.Load() {
			s.refuseResume(conn, wire.ResumeShutdown, "the manager is shutting down")
		} else {
			s.refuseResume(conn, wire.ResumeRefused, fmt.Sprintf("session %d has ended", id))
		}
		return
	}
	old := sess.conn
	if sess.expire != nil {
		sess.expire.Stop()
	}
	sess.attach(conn) // a reader still on the old connection finds its gen outdated
	gen := sess.gen
	sess.detached = false
	old.Close()
	err := sess.w.Resume(newStallWriter(conn, s.opts.lease()), ans, received)
	sess.lmu.Unlock()
	if errors.Is(err, wire.ErrCannotResume) {
		s.endSession(sess, fmt.Errorf("resume: %w", err))
		return
	}
	// A write error is the new connection breaking in turn: its reader sees it, and the
	// session waits for the next resume.
	sess.lastRecv.Store(time.Now().UnixNano())
	s.mu.Lock()
	sess.remote = conn.RemoteAddr().String()
	s.mu.Unlock()
	s.opts.logAt(slog.LevelInfo, "mgr: session resumed", slog.Uint64(LogSession, sess.id), slog.String(LogPeer, conn.RemoteAddr().String()))
	newSessionReader(sess, r, gen).run()
}

// refuseResume says why conn cannot resume a session, and closes it.
func (s *Server) refuseResume(conn net.Conn, status byte, msg string) {
	_, _ = conn.Write(resumedFrame(status, s.epoch, msg, nil, nil))
	conn.Close()
}

// resumedFrame is the manager's answer to a Resume (internal/wire/messages.go).
func resumedFrame(status byte, epoch uint64, msg string, unseen, reserved []uint64) []byte {
	e := frameEncoder(make([]byte, 0, 64+len(msg)+10*(len(unseen)+len(reserved))), wire.KindResumed)
	e.buf = append(e.buf, status)
	e.Uint64(epoch)
	e.String(msg)
	for _, ids := range [][]uint64{unseen, reserved} {
		e.Len(len(ids))
		for _, id := range ids {
			e.Uint64(id)
		}
	}
	return e.frame()
}
