package mgr

import (
	"fmt"
	"time"
)

// StateReporter is implemented by shared types that can describe their live state: who
// holds a lock and who waits for it, how long a queue is. Client.Info carries the state
// of each object whose type implements it (ObjectInfo.State), and so do mgrctl and the
// live page (Server.Handler). Every SyncManager type implements it.
//
// MgrState is called by the manager, outside its own locks, while other calls of the
// object may run: it must take the object's own lock, return promptly and never wait.
// mgrgen never exposes a method called MgrState, so the state is not a proxy method.
type StateReporter interface {
	MgrState() ObjectState
}

// ObjectState is an object's live state, as its type describes it.
type ObjectState struct {
	// Fields are the type's figures, in the order the type gives them ("locked": true,
	// "length": 3, "maxsize": 10). Values are bool, int, int64, uint64, float64 or string.
	Fields []StateField `json:",omitempty"`
	// Holders are the sessions holding the object (a lock's holder, a semaphore's
	// permits).
	Holders []StateParty `json:",omitempty"`
	// Waiters are the sessions blocked in a call of the object, oldest first.
	Waiters []StateParty `json:",omitempty"`
	// WaitersCut counts waiters left out of Waiters to keep Info's pages small.
	WaitersCut int `json:",omitempty"`
}

// StateField is one named figure of an object's state.
type StateField struct {
	Name  string
	Value any
}

// StateParty is a session holding or waiting for an object.
type StateParty struct {
	Session uint64
	// PID is the session's client process, filled in by the manager (0 for the manager
	// itself or a session that has ended).
	PID int `json:",omitempty"`
	// Op says what the session does: "holds", "acquire", "get", "put", "wait".
	Op string `json:",omitempty"`
	// Count is how many permits (a semaphore) or acquisitions (an RLock) it holds, or 0.
	Count int `json:",omitempty"`
	// Since is when it started holding or waiting (zero if unknown).
	Since time.Time `json:",omitempty"`
}

// Field returns the value of the named field, or nil.
func (st *ObjectState) Field(name string) any {
	if st == nil {
		return nil
	}
	for _, f := range st.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return nil
}

// maxStateParties bounds the holders and waiters one object's state lists in Info.
const maxStateParties = 64

// objectState asks value for its state, if its type reports one; a panic in MgrState
// becomes a field saying so, never the manager's end.
func objectState(value any) (st *ObjectState) {
	r, ok := value.(StateReporter)
	if !ok {
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			st = &ObjectState{Fields: []StateField{{Name: "error", Value: fmt.Sprintf("MgrState panicked: %v", p)}}}
		}
	}()
	s := r.MgrState()
	if len(s.Holders) > maxStateParties {
		s.Holders = s.Holders[:maxStateParties]
	}
	if len(s.Waiters) > maxStateParties {
		s.WaitersCut += len(s.Waiters) - maxStateParties
		s.Waiters = s.Waiters[:maxStateParties]
	}
	for i, f := range s.Fields {
		switch f.Value.(type) {
		case bool, int, int64, uint64, float64, string, nil:
		default:
			s.Fields[i].Value = fmt.Sprint(f.Value) // the codec need not know the type
		}
	}
	return &s
}

// size estimates the encoded size of st, for Info's page budget.
func (st *ObjectState) size() int {
	if st == nil {
		return 0
	}
	n := 16
	for _, f := range st.Fields {
		n += 16 + len(f.Name)
		if s, ok := f.Value.(string); ok {
			n += len(s)
		}
	}
	for _, p := range st.Holders {
		n += 40 + len(p.Op)
	}
	for _, p := range st.Waiters {
		n += 40 + len(p.Op)
	}
	return n
}

// addStates adds the states of the page's objects (values, in order), with the pids of
// the sessions they name, and cuts the page short where the states would take it past
// budget (used bytes are taken already): the objects left out come on the next page.
// It runs without s.mu, since MgrState is the types' code.
func (s *Server) addStates(p *infoPage, values []any, used, budget int) {
	var sids []uint64
	for i, v := range values {
		st := objectState(v)
		if st == nil {
			continue
		}
		if n := st.size(); i > 0 && used+n > budget {
			p.Objects, p.MoreObjects = p.Objects[:i], true
			break
		} else {
			used += n
		}
		p.Objects[i].State = st
		for _, l := range [][]StateParty{st.Holders, st.Waiters} {
			for _, party := range l {
				sids = append(sids, party.Session)
			}
		}
	}
	if len(sids) == 0 {
		return
	}
	pids := make(map[uint64]int, len(sids))
	s.mu.RLock()
	for _, id := range sids {
		if sess := s.sessionLocked(id); sess != nil { // CPython clients' holders too
			pids[id] = sess.pid
		}
	}
	s.mu.RUnlock()
	for _, o := range p.Objects {
		if o.State == nil {
			continue
		}
		for _, l := range [][]StateParty{o.State.Holders, o.State.Waiters} {
			for i := range l {
				l[i].PID = pids[l[i].Session]
			}
		}
	}
}
