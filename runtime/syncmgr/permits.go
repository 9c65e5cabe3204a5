package syncmgr

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// permits is the counting core of Lock, Semaphore and BoundedSemaphore: a number of
// free permits, a FIFO of waiters (a released permit is handed straight to the oldest
// waiter, so nobody starves), and a record of which session holds how many permits, so
// that a session's permits come back when it ends.
type permits struct {
	mu    sync.Mutex
	avail int
	// max bounds avail+held for Lock (1) and BoundedSemaphore; 0 means unbounded.
	max     int
	waiters []*permitWaiter
	held    map[uint64]*holding // by session ID
	// abandoned counts free permits that came back from ended sessions; the acquirers
	// that take them are told with ErrAbandoned.
	abandoned int
	what      string // "lock" or "semaphore", for messages
	seq       uint64 // grants made; each grant is numbered
}

// holding is one session's permits: the numbers of its grants, oldest first. A grant is
// named so that undoing it (a caller that gave up) never takes a permit the session got
// by a later grant.
type holding struct {
	grants []uint64
	cancel func()    // stops the session-end callback
	since  time.Time // when the session took its first permit, for MgrState
}

type permitWaiter struct {
	caller    mgr.Caller
	ready     chan struct{} // closed when granted
	grant     uint64        // the grant's number; 0 while not granted
	abandoned bool
	since     time.Time // for MgrState
}

func newPermits(value, max int, what string) *permits {
	return &permits{avail: value, max: max, held: map[uint64]*holding{}, what: what}
}

// acquire takes one permit for c. It blocks (if block) until one is free, ctx ends or
// dl passes (zero: no deadline). It returns whether the permit is held, and ErrAbandoned
// (wrapped) when it is held but came from an ended session.
func (p *permits) acquire(ctx context.Context, c mgr.Caller, block bool, dl time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	p.mu.Lock()
	if p.avail > 0 && len(p.waiters) == 0 {
		p.avail--
		ab := p.takeAbandonedLocked()
		g := p.grantLocked(c)
		p.mu.Unlock()
		p.undoable(ctx, c, g, ab)
		return true, p.abandonedErr(ab)
	}
	if !block {
		p.mu.Unlock()
		return false, nil
	}
	w := &permitWaiter{caller: c, ready: make(chan struct{}), since: time.Now()}
	p.waiters = append(p.waiters, w)
	p.mu.Unlock()

	err := wait(ctx, w.ready, dl)
	p.mu.Lock()
	defer p.mu.Unlock()
	if w.grant == 0 {
		p.removeWaiterLocked(w)
		if err == errTimedOut {
			return false, nil
		}
		return false, err
	}
	if err != nil && err != errTimedOut {
		// Granted as the caller gave up: the client will not see the reply, so give the
		// permit back rather than leave it with a session that thinks it failed, still
		// marked abandoned if it came from an ended session.
		p.undoGrantLocked(c.ID(), w.grant, w.abandoned)
		return false, err
	}
	p.undoable(ctx, c, w.grant, w.abandoned)
	return true, p.abandonedErr(w.abandoned)
}

// undoable registers the return of grant, just made to c, should its caller never learn
// that it got it (mgr.Undo): the permit goes back as it came, still abandoned if it was.
func (p *permits) undoable(ctx context.Context, c mgr.Caller, grant uint64, abandoned bool) {
	id := c.ID()
	mgr.Undo(ctx, func() {
		p.mu.Lock()
		p.undoGrantLocked(id, grant, abandoned)
		p.mu.Unlock()
	})
}

// undoGrantLocked returns grant of session id, if the session still holds that grant:
// since, it may have been released (by the session, or by another on its behalf) and its
// permit handed on — to another goroutine of the same session, even — and that grant is
// not ours to take.
func (p *permits) undoGrantLocked(id, grant uint64, abandoned bool) {
	h := p.held[id]
	if h == nil {
		return
	}
	i := slices.Index(h.grants, grant)
	if i < 0 {
		return
	}
	h.grants = slices.Delete(h.grants, i, i+1)
	p.forgetEmptyLocked(id, h)
	p.freeLocked(abandoned)
}

// forgetEmptyLocked drops session id's holding once it holds no permit.
func (p *permits) forgetEmptyLocked(id uint64, h *holding) {
	if len(h.grants) == 0 {
		h.cancel()
		delete(p.held, id)
	}
}

func (p *permits) takeAbandonedLocked() bool {
	if p.abandoned > 0 {
		p.abandoned--
		return true
	}
	return false
}

func (p *permits) abandonedErr(ab bool) error {
	if ab {
		return fmt.Errorf("%w (the %s is now held by the caller)", ErrAbandoned, p.what)
	}
	return nil
}

// grantLocked records one more permit held by c, watches its session, and returns the
// grant's number.
func (p *permits) grantLocked(c mgr.Caller) uint64 {
	h := p.held[c.ID()]
	if h == nil {
		id := c.ID()
		h = &holding{since: time.Now()}
		h.cancel = onSessionEnd(c, func() { p.sessionEnded(c, id) })
		p.held[id] = h
	}
	p.seq++
	h.grants = append(h.grants, p.seq)
	return p.seq
}

func (p *permits) removeWaiterLocked(w *permitWaiter) {
	for i, x := range p.waiters {
		if x == w {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			return
		}
	}
}

// freeLocked makes one permit available: to the oldest waiter, or to the pool.
func (p *permits) freeLocked(abandoned bool) {
	if len(p.waiters) > 0 {
		w := p.waiters[0]
		p.waiters = p.waiters[1:]
		w.abandoned = abandoned
		w.grant = p.grantLocked(w.caller)
		close(w.ready)
		return
	}
	p.avail++
	if abandoned {
		p.abandoned++
	}
}

// releaseFromLocked drops one permit held by session id; it reports whether id held one.
// A session releasing its own gives back its latest grant (an older one may belong to a
// caller that gave up, whose undo then still finds it); one released on its behalf by
// another session gives back its oldest.
func (p *permits) releaseFromLocked(id uint64, own bool) bool {
	h := p.held[id]
	if h == nil {
		return false
	}
	if own {
		h.grants = h.grants[:len(h.grants)-1]
	} else {
		h.grants = slices.Delete(h.grants, 0, 1)
	}
	p.forgetEmptyLocked(id, h)
	p.freeLocked(false)
	return true
}

// release returns one permit. A session that holds permits releases its own; any other
// session releases one on behalf of a holder (Python lets any thread release a Lock or
// Semaphore, which is how a child acquires and the parent releases). With no holder at
// all a bounded count refuses (overErr) and an unbounded one grows (a Semaphore used
// as a signal).
func (p *permits) release(c mgr.Caller, overErr error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.releaseFromLocked(c.ID(), true) {
		return nil
	}
	// The oldest holder by session ID: a deterministic choice among equals.
	var victim uint64
	found := false
	for id := range p.held {
		if !found || id < victim {
			victim, found = id, true
		}
	}
	if found {
		p.releaseFromLocked(victim, false)
		return nil
	}
	if p.max > 0 {
		return overErr
	}
	p.freeLocked(false)
	return nil
}

// sessionEnded returns every permit the ended session id held, marked abandoned.
func (p *permits) sessionEnded(c mgr.Caller, id uint64) {
	p.mu.Lock()
	h := p.held[id]
	if h == nil {
		p.mu.Unlock()
		return
	}
	delete(p.held, id)
	for range h.grants {
		p.freeLocked(true)
	}
	p.mu.Unlock()
	// Outside the lock: the logger is the user's code.
	c.Logger().Warn("syncmgr: "+p.what+" abandoned: its holder's session ended holding it", slog.Int("permits", len(h.grants)))
}

func (p *permits) value() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.avail
}

// heldBy reports whether session id holds a permit.
func (p *permits) heldBy(id uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held[id] != nil
}
