package mgr

// refCounts is an object's references, counted per holding session. Nearly every object
// is held by one session, so that holder is kept inline and a map is made only when a
// second session holds the object: a map per object would cost about 190 bytes of heap
// for each of a manager's objects (measured with mgrbench's scale rows).
type refCounts struct {
	one  uint64 // the inline holder's session ID, valid when n > 0
	n    int
	more map[uint64]int // other holders; nil until needed
}

// get returns how many references session holds.
func (r *refCounts) get(session uint64) int {
	if r.n > 0 && r.one == session {
		return r.n
	}
	return r.more[session]
}

// add adds d (which may be negative) to session's count and forgets a session whose count
// drops to zero or below.
func (r *refCounts) add(session uint64, d int) {
	switch {
	case r.n > 0 && r.one == session:
		r.n += d
		if r.n <= 0 {
			r.n = 0
			r.promote()
		}
	case r.n == 0 && r.more[session] == 0:
		if d > 0 {
			r.one, r.n = session, d
		}
	default:
		n := r.more[session] + d
		if n <= 0 {
			delete(r.more, session)
			return
		}
		if r.more == nil {
			r.more = make(map[uint64]int, 1)
		}
		r.more[session] = n
	}
}

// promote moves a holder from the map into the empty inline slot.
func (r *refCounts) promote() {
	for s, n := range r.more {
		delete(r.more, s)
		r.one, r.n = s, n
		break
	}
	if len(r.more) == 0 {
		r.more = nil
	}
}

// len returns the number of holding sessions.
func (r *refCounts) len() int {
	n := len(r.more)
	if r.n > 0 {
		n++
	}
	return n
}

// all iterates over the holders and their counts.
func (r *refCounts) all(yield func(session uint64, n int) bool) {
	if r.n > 0 && !yield(r.one, r.n) {
		return
	}
	for s, n := range r.more {
		if !yield(s, n) {
			return
		}
	}
}
