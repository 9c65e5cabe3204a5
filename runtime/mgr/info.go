package mgr

import (
	"iter"
	"math"
	"slices"
)

// Info is the manager's introspection: its sessions and its objects.
type Info struct {
	Sessions []SessionInfo
	Objects  []ObjectInfo
}

// SessionInfo describes one client session.
type SessionInfo struct {
	ID      uint64
	Remote  string
	PID     int
	Program string
	// Refs is how many references the session holds.
	Refs int
	// Pipelined is how many pipelined creates (Client.CreatePipelined) the manager keeps
	// the outcome of for the session: one per proxy made that way and not yet released.
	Pipelined int
}

// ObjectInfo describes one object in the table.
type ObjectInfo struct {
	ID     uint64
	TypeID string
	// Name is set for named objects the manager owns.
	Name string
	// Refs is the total number of references; Holders says who holds them (session 0 is
	// the manager itself: proxies stored inside other shared objects), cut short for an
	// object held by more sessions than one page of Client.Info can list.
	Refs    int
	Holders []Holder
	// Tokens counts hand-overs not yet attached.
	Tokens int
	// State is the object's live state, when its type describes one (StateReporter).
	State *ObjectState `json:",omitempty"`
}

// Holder is a session's share of an object's references.
type Holder struct {
	Session uint64
	Refs    int
}

// Info returns the current introspection, sorted by ID.
func (s *Server) Info() Info {
	p := s.infoPage(0, 0, math.MaxInt)
	return Info{Sessions: p.Sessions, Objects: p.Objects}
}

// infoPage is one page of the introspection, as Client.Info fetches it: a manager with a
// million objects describes them in more bytes than one frame may hold.
type infoPage struct {
	Sessions     []SessionInfo
	Objects      []ObjectInfo
	MoreSessions bool // sessions with IDs above the last one listed were left for later pages
	MoreObjects  bool
}

// infoPage returns the sessions and objects with IDs above the given ones, sorted by ID,
// as many as fit in about budget bytes once encoded (at least one of each, when any are
// left). Each page is a consistent view; pages taken while the table changes may miss
// what was added or removed in between.
func (s *Server) infoPage(sessAfter, objAfter uint64, budget int) infoPage {
	s.mu.RLock()
	p, values, used := s.infoPageLocked(sessAfter, objAfter, budget)
	s.mu.RUnlock()
	s.addStates(&p, values, used, budget) // state.go: types' code runs outside s.mu
	return p
}

// infoPageLocked is infoPage without the objects' states: the page, the objects' values
// (for their states) and the bytes used. s.mu is held.
func (s *Server) infoPageLocked(sessAfter, objAfter uint64, budget int) (p infoPage, values []any, used int) {
	sids := make([]uint64, 0, len(s.sessions))
	for id := range s.sessions {
		if id > sessAfter {
			sids = append(sids, id)
		}
	}
	s.pySessionsLocked(func(sess *session) { // python_refs.go: CPython clients' holders
		if sess.id > sessAfter {
			sids = append(sids, sess.id)
		}
	})
	slices.Sort(sids)
	for i, id := range sids {
		sess := s.sessionLocked(id)
		size := 48 + len(sess.remote) + len(sess.program)
		if i > 0 && used+size > budget {
			p.MoreSessions = true
			break
		}
		used += size
		n := 0
		for _, c := range sess.refs {
			n += c
		}
		p.Sessions = append(p.Sessions, SessionInfo{ID: sess.id, Remote: sess.remote, PID: sess.pid, Program: sess.program, Refs: n, Pipelined: int(sess.npromises.Load())})
	}
	if p.MoreSessions {
		p.MoreObjects = true // the objects come once the sessions are done
		return p, nil, used
	}
	maxHolders := max(1, (budget-256)/24) // one object's entry must fit a page too
	i := 0
	for obj := range s.objectsAfter(objAfter) {
		size := 48 + len(obj.desc.TypeID) + len(obj.named) + 24*min(obj.refs.len(), maxHolders)
		if (i > 0 || len(p.Sessions) > 0) && used+size > budget {
			p.MoreObjects = true
			break
		}
		i++
		used += size
		oi := ObjectInfo{ID: obj.id, TypeID: obj.desc.TypeID, Name: obj.named, Tokens: obj.tokens}
		for holder, n := range obj.refs.all {
			oi.Refs += n
			oi.Holders = append(oi.Holders, Holder{Session: holder, Refs: n})
		}
		slices.SortFunc(oi.Holders, func(a, b Holder) int { return cmpU64(a.Session, b.Session) })
		if len(oi.Holders) > maxHolders {
			oi.Holders = oi.Holders[:maxHolders] // Refs still counts them all
		}
		p.Objects = append(p.Objects, oi)
		values = append(values, obj.value)
	}
	return p, values, used
}

// objectsAfter yields the objects with IDs above after, in ID order. IDs are handed out
// in increasing order, so in a table that holds most of the IDs it has handed out a walk
// up the ID range finds them in order without sorting; a sparse table (most objects
// gone) sorts the IDs instead. s.mu is held.
func (s *Server) objectsAfter(after uint64) iter.Seq[*object] {
	return func(yield func(*object) bool) {
		if after >= s.nextObj {
			return
		}
		if span := s.nextObj - after; uint64(len(s.objects)) >= span/8 {
			for id := after + 1; id <= s.nextObj; id++ {
				if obj := s.objects[id]; obj != nil && !yield(obj) {
					return
				}
			}
			return
		}
		ids := make([]uint64, 0, len(s.objects))
		for id := range s.objects {
			if id > after {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		for _, id := range ids {
			if !yield(s.objects[id]) {
				return
			}
		}
	}
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
