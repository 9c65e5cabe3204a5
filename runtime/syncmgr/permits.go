package syncmgr

import (
	"context"
	"fmt"
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
}

type holding struct {
	n      int
	cancel func() // stops the session-end callback
}

type permitWaiter struct {
	caller    mgr.Caller
	ready     chan struct{} // closed when granted
	granted   bool
	abandoned bool
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
		p.grantLocked(c)
		p.mu.Unlock()
		p.undoable(ctx, c, ab)
		return true, p.abandonedErr(ab)
	}
	if !block {
		p.mu.Unlock()
		return false, nil
	}
	w := &permitWaiter{caller: c, ready: make(chan struct{})}
	p.waiters = append(p.waiters, w)
	p.mu.Unlock()

	err := wait(ctx, w.ready, dl)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !w.granted {
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
		p.dropLocked(c.ID(), w.abandoned)
		return false, err
	}
	p.undoable(ctx, c, w.abandoned)
	return true, p.abandonedErr(w.abandoned)
}

// undoable registers the return of a permit just granted to c, should its caller never
// learn that it got it (mgr.Undo): the permit goes back as it came, still abandoned if it
// was. If c's session has meanwhile dropped its permits, there is nothing to undo.
func (p *permits) undoable(ctx context.Context, c mgr.Caller, abandoned bool) {
	id := c.ID()
	mgr.Undo(ctx, func() {
		p.mu.Lock()
		p.dropLocked(id, abandoned)
		p.mu.Unlock()
	})
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

// grantLocked records one more permit held by c and watches its session.
func (p *permits) grantLocked(c mgr.Caller) {
	h := p.held[c.ID()]
	if h == nil {
		id := c.ID()
		h = &holding{}
		h.cancel = onSessionEnd(c, func() { p.sessionEnded(id) })
		p.held[id] = h
	}
	h.n++
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
		w.granted = true
		w.abandoned = abandoned
		p.grantLocked(w.caller)
		close(w.ready)
		return
	}
	p.avail++
	if abandoned {
		p.abandoned++
	}
}

// releaseFromLocked drops one permit held by session id; it reports whether id held one.
func (p *permits) releaseFromLocked(id uint64) bool { return p.dropLocked(id, false) }

// dropLocked is releaseFromLocked for a permit that may have come back abandoned.
func (p *permits) dropLocked(id uint64, abandoned bool) bool {
	h := p.held[id]
	if h == nil {
		return false
	}
	h.n--
	if h.n == 0 {
		h.cancel()
		delete(p.held, id)
	}
	p.freeLocked(abandoned)
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
	if p.releaseFromLocked(c.ID()) {
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
		p.releaseFromLocked(victim)
		return nil
	}
	if p.max > 0 {
		return overErr
	}
	p.freeLocked(false)
	return nil
}

// sessionEnded returns every permit the ended session id held, marked abandoned.
func (p *permits) sessionEnded(id uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.held[id]
	if h == nil {
		return
	}
	delete(p.held, id)
	for range h.n {
		p.freeLocked(true)
	}
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
