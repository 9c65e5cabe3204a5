package mgr

import "slices"

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
}

// ObjectInfo describes one object in the table.
type ObjectInfo struct {
	ID     uint64
	TypeID string
	// Name is set for named objects the manager owns.
	Name string
	// Refs is the total number of references; Holders says who holds them (session 0 is
	// the manager itself: proxies stored inside other shared objects).
	Refs    int
	Holders []Holder
	// Tokens counts hand-overs not yet attached.
	Tokens int
}

// Holder is a session's share of an object's references.
type Holder struct {
	Session uint64
	Refs    int
}

// Info returns the current introspection, sorted by ID.
func (s *Server) Info() Info {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var info Info
	for _, sess := range s.sessions {
		n := 0
		for _, c := range sess.refs {
			n += c
		}
		info.Sessions = append(info.Sessions, SessionInfo{ID: sess.id, Remote: sess.remote, PID: sess.pid, Program: sess.program, Refs: n})
	}
	for _, obj := range s.objects {
		oi := ObjectInfo{ID: obj.id, TypeID: obj.desc.TypeID, Name: obj.named, Tokens: obj.tokens}
		for holder, n := range obj.refs.all {
			oi.Refs += n
			oi.Holders = append(oi.Holders, Holder{Session: holder, Refs: n})
		}
		slices.SortFunc(oi.Holders, func(a, b Holder) int { return cmpU64(a.Session, b.Session) })
		info.Objects = append(info.Objects, oi)
	}
	slices.SortFunc(info.Sessions, func(a, b SessionInfo) int { return cmpU64(a.ID, b.ID) })
	slices.SortFunc(info.Objects, func(a, b ObjectInfo) int { return cmpU64(a.ID, b.ID) })
	return info
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
