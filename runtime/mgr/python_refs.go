package mgr

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
)

// References of CPython clients.
//
// CPython's protocol has no session: a client counts references per object ident with
// one-shot incref and decref connections, and a client that dies (kill -9) never sends
// its decrefs, so CPython's own manager keeps its objects forever. We hold each
// reference for a holder: on a Unix socket, the client's process (its peer PID, which
// every connection of that process shares); over TCP, where the process cannot be seen,
// one holder for all. A process holder whose process has gone drops its references, as
// a Go session that ends does; the TCP holder lasts as long as the manager.

// pyState is the Python front-end's part of the server; guarded by Server.mu.
type pyState struct {
	shared   map[string]pyShared // typeid → named object (SharePython)
	byPID    map[int]*pyHolder
	anon     *pyHolder            // clients whose process cannot be seen
	threads  map[uint64]*pyHolder // a connection's Caller ID → its holder (pyCaller)
	sweeping bool                 // a goroutine watches the process holders (sweepPython)
}

// pyHolder holds the references of one CPython process (or of all TCP clients).
type pyHolder struct {
	sess  *session    // refs and ended live here, as for Go sessions
	pid   int         // 0 for anon
	alive func() bool // nil for anon
}

// pyLocked returns the front-end's state, made on first use.
func (s *Server) pyLocked() *pyState {
	if s.py == nil {
		s.py = &pyState{shared: map[string]pyShared{}, byPID: map[int]*pyHolder{}}
	}
	return s.py
}

// newPySessionLocked makes a session that no connection carries: it only holds
// references (and gives calls a Caller ID). Info lists it among the sessions with the
// client's pid (0 for the holder of every TCP client) and "CPython" as its program.
func (s *Server) newPySessionLocked(pid int, remote string) *session {
	s.nextSess++
	sess := &session{srv: s, id: s.nextSess, refs: map[uint64]int{}, done: make(chan struct{}), pid: pid, remote: remote, program: "CPython"}
	sess.ctx = withCaller(s.callsCtx, Caller{id: sess.id})
	return sess
}

// pySessionsLocked calls yield with the session of each CPython reference holder that
// has not ended (for Info, which lists them with the Go sessions).
func (s *Server) pySessionsLocked(yield func(*session)) {
	if s.py == nil {
		return
	}
	if a := s.py.anon; a != nil && !a.sess.ended {
		yield(a.sess)
	}
	for _, h := range s.py.byPID {
		if !h.sess.ended {
			yield(h.sess)
		}
	}
}

// sessionLocked returns the Go session or CPython reference holder with that ID, or nil.
func (s *Server) sessionLocked(id uint64) *session {
	if sess := s.sessions[id]; sess != nil {
		return sess
	}
	var found *session
	s.pySessionsLocked(func(sess *session) {
		if sess.id == id {
			found = sess
		}
	})
	if found == nil && s.py != nil {
		if h := s.py.threads[id]; h != nil {
			found = h.sess // a CPython connection: its process's holder
		}
	}
	return found
}

// pyHolderFor returns the holder of the references a connection's requests count.
func (s *Server) pyHolderFor(conn net.Conn) *pyHolder {
	pid, alive := peerProcess(conn) // python_peer_*.go
	s.mu.Lock()
	defer s.mu.Unlock()
	py := s.pyLocked()
	if alive == nil {
		if py.anon == nil {
			py.anon = &pyHolder{sess: s.newPySessionLocked(0, "tcp (every CPython client over TCP)")}
		}
		return py.anon
	}
	if h := py.byPID[pid]; h != nil && !h.sess.ended && h.alive() {
		return h
	}
	h := &pyHolder{sess: s.newPySessionLocked(pid, "unix "+conn.LocalAddr().String()), pid: pid, alive: alive}
	py.byPID[pid] = h
	if !py.sweeping {
		py.sweeping = true
		go s.sweepPython()
	}
	return h
}

// pySweepEvery is how often the process holders are checked. A connection's end is not
// a process's end (a CPython client closes its proxies' connection when it holds none
// and opens one per request), so the check is by the process itself.
const pySweepEvery = 200 * time.Millisecond

// sweepPython drops the references of CPython processes that have gone, until none is
// left to watch or the manager shuts down.
func (s *Server) sweepPython() {
	t := time.NewTicker(pySweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.callsCtx.Done():
			return
		case <-t.C:
		}
		// /proc is read outside the table's lock, which calls need.
		s.mu.RLock()
		holders := make([]*pyHolder, 0, len(s.py.byPID))
		for _, h := range s.py.byPID {
			holders = append(holders, h)
		}
		s.mu.RUnlock()
		var dead []*pyHolder
		for _, h := range holders {
			if !h.alive() {
				dead = append(dead, h)
			}
		}
		s.mu.Lock()
		py := s.py
		for _, h := range dead {
			if py.byPID[h.pid] == h {
				delete(py.byPID, h.pid)
			}
			s.endPyHolderLocked(h)
		}
		if len(py.byPID) == 0 {
			py.sweeping = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
}

// endPyHolderLocked drops every reference h holds.
func (s *Server) endPyHolderLocked(h *pyHolder) {
	sess := h.sess
	if sess.ended {
		return
	}
	for id, n := range sess.refs {
		if obj := s.objects[id]; obj != nil {
			obj.refs.add(sess.id, -n)
			s.maybeRemoveLocked(obj)
		}
	}
	sess.refs = nil
	sess.ended = true
	close(sess.done)
	s.pyLog("mgr: CPython client has gone; its references were dropped", slog.Int(LogPID, h.pid))
}

// pyIdent is an object's ident on CPython's wire: the manager's epoch and the object's
// ID, so that an ident from an earlier run of the manager names nothing here.
func (s *Server) pyIdent(id uint64) string {
	return strconv.FormatUint(uint64(uint32(s.epoch)), 16) + "." + strconv.FormatUint(id, 16)
}

// pyObjectID parses an ident.
func (s *Server) pyObjectID(ident string) (uint64, error) {
	e, i, ok := strings.Cut(ident, ".")
	if !ok {
		return 0, fmt.Errorf("%q is not an object ident of this manager", ident)
	}
	if epoch, err := strconv.ParseUint(e, 16, 32); err != nil || epoch != uint64(uint32(s.epoch)) {
		return 0, fmt.Errorf("object %q is from an earlier run of the manager", ident)
	}
	id, err := strconv.ParseUint(i, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an object ident of this manager", ident)
	}
	return id, nil
}

// pyIncref counts one more reference of h to ident (CPython's incref).
func (s *Server) pyIncref(h *pyHolder, ident string) error {
	id, err := s.pyObjectID(ident)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	obj := s.objects[id]
	if obj == nil {
		return fmt.Errorf("object %s does not exist", ident)
	}
	return s.increfLocked(obj, h.sess)
}

// pyDecref drops one reference to ident (CPython's decref): the caller's own if it holds
// one, else one of another Python holder (a proxy that travelled to another process over
// TCP, or whose process we could not see, was counted elsewhere).
func (s *Server) pyDecref(h *pyHolder, ident string) error {
	id, err := s.pyObjectID(ident)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	obj := s.objects[id]
	if obj == nil {
		return fmt.Errorf("object %s does not exist", ident)
	}
	if obj.refs.get(h.sess.id) > 0 {
		return s.decrefLocked(obj, h.sess)
	}
	py := s.pyLocked()
	if py.anon != nil && obj.refs.get(py.anon.sess.id) > 0 {
		return s.decrefLocked(obj, py.anon.sess)
	}
	for _, o := range py.byPID {
		if obj.refs.get(o.sess.id) > 0 {
			return s.decrefLocked(obj, o.sess)
		}
	}
	return fmt.Errorf("AssertionError: object %s has no reference of a Python client left", ident)
}

// pyNumObjects is what number_of_objects answers: the objects Python clients hold.
func (s *Server) pyNumObjects() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	held := map[uint64]bool{}
	if py := s.py; py != nil {
		add := func(h *pyHolder) {
			for id := range h.sess.refs {
				held[id] = true
			}
		}
		if py.anon != nil {
			add(py.anon)
		}
		for _, h := range py.byPID {
			add(h)
		}
	}
	return len(held)
}

// pyCaller is the Caller of a call on one connection: CPython's server runs each
// connection in a thread of its own, and an RLock's owner is that thread, so the
// connection is the Caller. Its Done never closes: CPython keeps a lock a dead thread
// held, and another process may release it (multiprocessing's own tests do).
// The connection is remembered as its holder's until it ends (pyCallerDone), so that
// Info names the client's pid beside what the connection's thread holds or waits for.
func (s *Server) pyCaller(h *pyHolder) Caller {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextSess++
	py := s.pyLocked()
	if py.threads == nil {
		py.threads = map[uint64]*pyHolder{}
	}
	py.threads[s.nextSess] = h
	return Caller{id: s.nextSess}
}

// pyCallerDone forgets a connection's Caller (its connection ended).
func (s *Server) pyCallerDone(c Caller) {
	s.mu.Lock()
	delete(s.py.threads, c.id)
	s.mu.Unlock()
}
