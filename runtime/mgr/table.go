package mgr

import (
	"fmt"
	"runtime"
	"sync/atomic"
)

// The object table and its reference counts.

// maybeRemoveLocked removes obj when nothing keeps it: no reference, no pending token,
// and not a named object.
func (s *Server) maybeRemoveLocked(obj *object) {
	if obj.refs.len() > 0 || obj.tokens > 0 || obj.pins > 0 || obj.named != "" {
		return
	}
	delete(s.objects, obj.id)
	if id, ok := s.byValue[obj.value]; ok && id == obj.id {
		delete(s.byValue, obj.value)
	}
	releaseRemoved(obj.value) // released.go
}

// addObjectLocked enters value into the table with one reference for holder (none
// when holder is nil). It fails, adding nothing, when holder has ended.
func (s *Server) addObjectLocked(desc *TypeDesc, value any, holder *session) (*object, error) {
	if holder != nil && holder.ended {
		return nil, endedError(holder)
	}
	t := s.types[desc]
	if t == nil {
		t = &serverType{TypeDesc: desc, hold: make([]atomic.Int64, len(desc.Methods))}
		s.types[desc] = t
	}
	s.nextObj++
	obj := &object{id: s.nextObj, desc: t, value: value}
	s.objects[obj.id] = obj
	if holder != nil {
		s.increfLocked(obj, holder) // cannot fail: holder is live
	}
	return obj, nil
}

func endedError(sess *session) error {
	return callError(ErrConnLost, "session %d has ended", sess.id)
}

// increfLocked counts one more reference of holder to obj. It refuses a session that has
// ended: a call still running when its session ends must not take a reference for it,
// since nothing would ever drop it.
func (s *Server) increfLocked(obj *object, holder *session) error {
	if holder.ended {
		return endedError(holder)
	}
	obj.refs.add(holder.id, 1)
	if holder.refs != nil {
		holder.refs[obj.id]++
	}
	return nil
}

func (s *Server) decrefLocked(obj *object, holder *session) error {
	if obj.refs.get(holder.id) <= 0 {
		return callError(ErrReleased, "session %d holds no reference to %s#%d", holder.id, obj.desc.TypeID, obj.id)
	}
	obj.refs.add(holder.id, -1)
	if holder.refs != nil {
		holder.refs[obj.id]--
		if holder.refs[obj.id] <= 0 {
			delete(holder.refs, obj.id)
		}
	}
	s.maybeRemoveLocked(obj)
	return nil
}

func (s *Server) lookup(id uint64) *object {
	s.mu.RLock()
	obj := s.objects[id]
	s.mu.RUnlock()
	return obj
}

// AddNamed makes value, of the registered type typeID, a named object the manager owns
// until shutdown: clients reach it with Client.Lookup (or the generated LookupT).
func (s *Server) AddNamed(name, typeID string, value any) error {
	desc := LookupType(typeID)
	if desc == nil {
		return callError(ErrUnknownType, "%q is not registered in this process", typeID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.named[name]; ok {
		return fmt.Errorf("mgr: a named object %q exists already", name)
	}
	obj, _ := s.addObjectLocked(desc, value, nil) // no holder: cannot fail
	obj.named = name
	s.named[name] = obj.id
	return nil
}

// NumObjects returns how many objects the table holds.
func (s *Server) NumObjects() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.objects)
}

// NumSessions returns how many client sessions are connected.
func (s *Server) NumSessions() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.sessions)
}

// refEnv of a session: references in arguments and results of its calls.

func (sess *session) codec() Codec { return sess.srv.cdc }

// encodeRef counts a reference for the receiving session before the reply carries it, so
// the client's new proxy owns a reference from the moment it exists.
func (sess *session) encodeRef(h *Handle) (uint64, bool, error) {
	s := sess.srv
	if h.owner != handleOwner(s) {
		return 0, false, fmt.Errorf("mgr: a proxy to another manager (%s) cannot be stored in this one", h.owner.describe())
	}
	if sess.id == 0 {
		return h.id, false, nil // the receiving side counts its own reference (decodeRef)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	obj := s.objects[h.id]
	if obj == nil {
		return 0, false, callError(ErrUnknownObject, "object #%d does not exist", h.id)
	}
	if err := s.increfLocked(obj, sess); err != nil {
		return 0, false, err
	}
	return h.id, true, nil
}

// decodeRef makes a proxy the manager itself holds (stored in a shared object): it owns
// a reference of the manager's session, dropped when the proxy is garbage collected.
func (sess *session) decodeRef(id uint64, typeID string) (*Handle, error) {
	s := sess.srv
	s.mu.Lock()
	obj := s.objects[id]
	if obj == nil {
		s.mu.Unlock()
		return nil, callError(ErrUnknownObject, "object #%d does not exist", id)
	}
	if obj.desc.TypeID != typeID {
		s.mu.Unlock()
		return nil, fmt.Errorf("mgr: object #%d is a %s, not a %s", id, obj.desc.TypeID, typeID)
	}
	s.increfLocked(obj, s.internal) // the manager's own session never ends
	s.mu.Unlock()
	h := &Handle{owner: s, id: id, typeID: typeID}
	h.cleanup = runtime.AddCleanup(h, s.dropInternal, id)
	return h, nil
}

func (s *Server) dropInternal(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if obj := s.objects[id]; obj != nil && obj.refs.get(0) > 0 {
		_ = s.decrefLocked(obj, s.internal)
	}
}

func (sess *session) referent(id uint64, typeID string) (any, error) {
	obj := sess.srv.lookup(id)
	if obj == nil {
		return nil, callError(ErrUnknownObject, "argument refers to object #%d, which does not exist", id)
	}
	if obj.desc.TypeID != typeID {
		return nil, fmt.Errorf("mgr: argument refers to a %s, the method takes a %s", obj.desc.TypeID, typeID)
	}
	return obj.value, nil
}

func (sess *session) newObject(typeID string, v any) (uint64, error) {
	s := sess.srv
	desc := s.lookupType(typeID)
	if desc == nil {
		return 0, callError(ErrUnknownType, "%q is not registered in the manager process", typeID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// The manager's own session takes its reference when it decodes the result
	// (decodeRef); until the call has ended (Call.End) a pin keeps the object.
	var holder *session
	if sess.id != 0 {
		holder = sess
	}
	if id, ok := s.byValue[v]; ok {
		if obj := s.objects[id]; obj != nil {
			if holder != nil {
				if err := s.increfLocked(obj, holder); err != nil {
					return 0, err
				}
			} else {
				obj.pins++
			}
			return id, nil
		}
	}
	obj, err := s.addObjectLocked(desc, v, holder)
	if err != nil {
		return 0, err
	}
	if holder == nil {
		obj.pins++
	}
	s.byValue[v] = obj.id
	return obj.id, nil
}

// unpin ends the pins a manager-internal call's result held (newObject).
func (s *Server) unpin(ids []uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if obj := s.objects[id]; obj != nil && obj.pins > 0 {
			obj.pins--
			s.maybeRemoveLocked(obj)
		}
	}
}
