package mgr

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
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
