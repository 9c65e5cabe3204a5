package mgr

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"

	"github.com/mgr-go/mgr/internal/wire"
)

// Backend lets a manager keep the state of its objects somewhere else than in its own
// memory — a store shared by several managers, such as etcd (the nested module
// github.com/mgr-go/mgr/runtime/etcd) — while clients keep using the generated proxies
// unchanged: a backend serves a registered TypeID with a TypeDesc of its own whose
// methods have the same names and signatures (clients bind by name and signature, see
// TypeDesc.Methods), and resolves names no manager added with AddNamed.
//
// A Backend is given to a Server with SetBackend before it serves. The core never
// depends on any store: this interface is all it knows.
type Backend interface {
	// Type returns the manager's description of typeID, or nil to serve the type
	// registered with Register.
	Type(typeID string) *TypeDesc
	// Lookup returns the object called name when the manager has no named object of that
	// name: typeID is its type, and value what Type(typeID)'s methods are called on. An
	// error wrapping ErrUnknownObject says no object has that name.
	Lookup(ctx context.Context, name string) (typeID string, value any, err error)
}

// backendBox holds a Server's Backend (nil: none), set once before serving.
type backendBox struct{ b atomic.Pointer[Backend] }

func (x *backendBox) get() Backend {
	if p := x.b.Load(); p != nil {
		return *p
	}
	return nil
}

// SetBackend makes the manager serve types and names from b (see Backend). Call it
// before Serve; a manager has at most one backend.
func (s *Server) SetBackend(b Backend) error {
	if b == nil {
		return errors.New("mgr: SetBackend needs a Backend")
	}
	if !s.backend.b.CompareAndSwap(nil, &b) {
		return errors.New("mgr: the manager has a backend already")
	}
	return nil
}

// lookupType returns the description the manager serves typeID with: its backend's,
// else the registered one, else nil.
func (s *Server) lookupType(typeID string) *TypeDesc {
	if b := s.backend.get(); b != nil {
		if d := b.Type(typeID); d != nil {
			return d
		}
	}
	return LookupType(typeID)
}

// lookupTypeIn is lookupType for a type name read from a frame (Decoder.stringBytes):
// without a backend it allocates nothing, which a create on the hot path would otherwise
// spend on the name.
func (s *Server) lookupTypeIn(typeID []byte) *TypeDesc {
	if s.backend.get() != nil {
		return s.lookupType(string(typeID))
	}
	return lookupTypeBytes(typeID)
}

// lookupBackendNamed enters the backend's object called name into the table as a named
// object when the manager has none of that name yet. Without a backend it does nothing
// (the caller reports the name unknown).
func (s *Server) lookupBackendNamed(ctx context.Context, name string) error {
	b := s.backend.get()
	if b == nil {
		return nil
	}
	s.mu.RLock()
	_, ok := s.named[name]
	s.mu.RUnlock()
	if ok {
		return nil
	}
	// The backend may ask its store: not under the table's lock.
	typeID, value, err := b.Lookup(ctx, name)
	if err != nil {
		return err
	}
	desc := s.lookupType(typeID)
	if desc == nil {
		return callError(ErrUnknownType, "%q (the type of %q) is not registered in the manager process", typeID, name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.named[name]; ok {
		return nil // another call entered it meanwhile
	}
	obj, _ := s.addObjectLocked(desc, value, nil) // no holder: cannot fail
	obj.named = name
	s.named[name] = obj.id
	return nil
}

// AddNamedValue is AddNamed for a value of the manager's own description of typeID (a
// backend's, see Backend.Type), which AddNamed, looking only at registered types, would
// call with the registered type's methods.
func (s *Server) AddNamedValue(name, typeID string, value any) error {
	desc := s.lookupType(typeID)
	if desc == nil {
		return callError(ErrUnknownType, "%q is not registered in this process", typeID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.named[name]; ok {
		return fmt.Errorf("mgr: a named object %q exists already", name)
	}
	obj, _ := s.addObjectLocked(desc, value, nil)
	obj.named = name
	s.named[name] = obj.id
	return nil
}

// Rest returns the bytes d has not read yet, without reading them: a backend that may
// have to run a method more than once (an optimistic transaction that lost a race)
// keeps them to decode the arguments again.
func (d *Decoder) Rest() []byte {
	if d.err != nil || d.off >= len(d.buf) {
		return nil
	}
	return d.buf[d.off:]
}

// Raw appends b, bytes another Encoder produced, as they are: a backend that ran a
// method into an Encoder of its own copies the results into the call's.
func (e *Encoder) Raw(b []byte) {
	if e.err == nil {
		e.buf = append(e.buf, b...)
	}
}

// Adopter is a Backend that lets a manager take over the session of another manager
// sharing its store (one that died, or that the client cannot reach any more): a client
// with Options.Failover redials this manager and asks to resume a session of another
// run; the manager starts a new session on that connection (the client says Hello on
// it, as after a restart) and calls Adopt, so that what the old session held in the
// store — an etcd lease, and the locks and claims attached to it — becomes the new
// session's.
type Adopter interface {
	Backend
	// Adopt hands to the new session c what the session named oldKey (see
	// Caller.ResumeKey) held in the store, if anything. untaken lists the request IDs
	// (CallID) of the old session's calls whose replies the client did not take: still
	// waiting for them (they now fail with ErrManagerRestarted), given up on, or
	// refused (Reject). Of the calls the old session ran whose outcome has something to
	// undo (Undo), the client took the reply of exactly those not listed: a backend
	// keeps what those handed out and undoes what the others did. An error refuses the
	// adoption: the client then starts a plain new session.
	Adopt(ctx context.Context, oldKey string, untaken []uint64, c Caller) error
}

// ResumeKey names the caller's session for Adopter.Adopt: a hash of its manager's run,
// its ID and its resume token, so that a backend can record it (the token itself never
// leaves the manager) and another manager recognise it when the client resumes there.
// It is "" for the manager itself.
func (c Caller) ResumeKey() string {
	if c.sess == nil {
		return ""
	}
	return resumeKey(c.sess.srv.epoch, c.sess.id, c.sess.token[:])
}

func resumeKey(epoch, id uint64, token []byte) string {
	h := sha256.New()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], epoch)
	binary.LittleEndian.PutUint64(b[8:], id)
	h.Write(b[:])
	h.Write(token)
	return hex.EncodeToString(h.Sum(nil))
}

// adoptSession answers a Resume of another run's session when the backend can adopt
// it: a new session on conn takes over what the old one held. It reports false, having
// done nothing, without such a backend.
func (s *Server) adoptSession(conn net.Conn, r *wire.Reader, epoch, id uint64, token []byte, untaken []uint64) bool {
	a, ok := s.backend.get().(Adopter)
	if !ok || len(token) != 32 {
		return false
	}
	sess := s.newSession(conn)
	if sess == nil {
		s.refuseResume(conn, wire.ResumeShutdown, "the manager is shutting down")
		return true
	}
	ctx, cancel := context.WithTimeout(sess.ctx, s.opts.handshakeTimeout())
	err := a.Adopt(ctx, resumeKey(epoch, id, token), untaken, Caller{id: sess.id, done: sess.done, sess: sess})
	cancel()
	if err != nil {
		s.opts.logAt(slog.LevelWarn, "mgr: could not adopt a session of another manager", slog.Uint64(LogSession, sess.id), slog.Any(LogErr, err))
		_, _ = conn.Write(resumedFrame(wire.ResumeRestarted, s.epoch, fmt.Sprintf("cannot adopt the session: %v", err), nil, nil))
		s.endSession(sess, nil)
		return true
	}
	if _, err := conn.Write(resumedFrame(wire.ResumeAdopted, s.epoch, "", nil, nil)); err != nil {
		s.endSession(sess, err)
		return true
	}
	s.opts.logAt(slog.LevelInfo, "mgr: adopted a session of another manager", slog.Uint64(LogSession, sess.id), slog.String(LogPeer, conn.RemoteAddr().String()))
	go sess.watchLease()
	newSessionReader(sess, r, sess.gen).run()
	return true
}

// TakeRest returns the bytes d has not read yet and reads them: a backend's constructor
// keeps a type's arguments as they are, to decode them where the object is made.
func (d *Decoder) TakeRest() []byte {
	b := d.Rest()
	d.off = len(d.buf)
	return b
}
