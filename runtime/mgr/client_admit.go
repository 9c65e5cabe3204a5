package mgr

import (
	"context"
	"errors"
	"sync"
)

// errConnDone is acquire's error when the connection ended while the call waited.
var errConnDone = errors.New("mgr: connection ended")

// admission keeps a client's calls in flight within what the manager admits per session
// (maxSessionCalls calls, maxSessionArgBytes bytes of arguments; server.go). The manager
// enforces those bounds by not reading the connection until a call ends; a client that
// went past them would find everything it sends next — its Cancel frames too — stuck
// behind calls the manager does not read yet, and a blocked call that only a cancel
// could end would wedge the session. Waiting here instead honours the caller's ctx, and
// a Cancel always reaches the manager.
type admission struct {
	mu      sync.Mutex
	calls   int
	bytes   int
	waiters []*admitWaiter // first come, first served
}

type admitWaiter struct {
	n     int
	ready chan struct{} // closed when admitted
}

// fits reports whether a call with n bytes of arguments fits now. One call always fits,
// however large, as on the manager's side.
func (a *admission) fits(n int) bool {
	return a.calls < maxSessionCalls && (a.calls == 0 || a.bytes+n <= maxSessionArgBytes)
}

// acquire waits until a call with n bytes of arguments fits, ctx ends, or done (the
// connection's end) closes.
func (a *admission) acquire(ctx context.Context, done <-chan struct{}, n int) error {
	a.mu.Lock()
	if len(a.waiters) == 0 && a.fits(n) {
		a.calls++
		a.bytes += n
		a.mu.Unlock()
		return nil
	}
	w := &admitWaiter{n: n, ready: make(chan struct{})}
	a.waiters = append(a.waiters, w)
	a.mu.Unlock()
	var err error
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-done:
		err = errConnDone
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-w.ready:
		// Admitted while giving up: hand the room on.
		a.releaseLocked(n)
	default:
		for i, x := range a.waiters {
			if x == w {
				a.waiters = append(a.waiters[:i], a.waiters[i+1:]...)
				break
			}
		}
		a.grantLocked() // the waiters behind w may fit now
	}
	return err
}

// roomy reports whether calls are admitted without waiting, far from the bounds.
func (a *admission) roomy() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.waiters) == 0 && a.calls < maxSessionCalls/2 && a.bytes < maxSessionArgBytes/2
}

// release gives back the room of a call the manager has finished.
func (a *admission) release(n int) {
	a.mu.Lock()
	a.releaseLocked(n)
	a.mu.Unlock()
}

func (a *admission) releaseLocked(n int) {
	a.calls--
	a.bytes -= n
	a.grantLocked()
}

// grantLocked admits waiters in order while they fit.
func (a *admission) grantLocked() {
	for len(a.waiters) > 0 && a.fits(a.waiters[0].n) {
		w := a.waiters[0]
		a.waiters = a.waiters[1:]
		a.calls++
		a.bytes += w.n
		close(w.ready)
	}
}
