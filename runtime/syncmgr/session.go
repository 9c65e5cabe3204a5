package syncmgr

import (
	"context"
	"sync"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Session-end callbacks.
//
// A lock remembers which session holds it; when that session ends the lock must be
// returned. Rather than one goroutine per held lock, one goroutine per session waits on
// its Done channel and runs every callback registered for it. Sessions are keyed by
// their Done channel, which is unique to a session even when one process runs several
// managers (session IDs are only unique within a manager).
var sessionWatches struct {
	sync.Mutex
	byDone map[<-chan struct{}]*sessionWatch
}

type sessionWatch struct {
	next uint64
	fns  map[uint64]func()
}

// onSessionEnd arranges for fn to run (in another goroutine) when c's session ends, and
// returns a function that cancels it. fn may still run once after cancellation if the
// session ended concurrently, so it must check that there is still something to undo.
// A registration for a session that has already ended runs fn promptly. The manager's
// own session (no Done channel) never ends.
func onSessionEnd(c mgr.Caller, fn func()) (cancel func()) {
	done := c.Done()
	if done == nil {
		return func() {}
	}
	sessionWatches.Lock()
	defer sessionWatches.Unlock()
	if sessionWatches.byDone == nil {
		sessionWatches.byDone = map[<-chan struct{}]*sessionWatch{}
	}
	w := sessionWatches.byDone[done]
	if w == nil {
		w = &sessionWatch{fns: map[uint64]func(){}}
		sessionWatches.byDone[done] = w
		go func() {
			<-done
			sessionWatches.Lock()
			delete(sessionWatches.byDone, done)
			fns := w.fns
			w.fns = nil
			sessionWatches.Unlock()
			for _, fn := range fns {
				fn()
			}
		}()
	}
	id := w.next
	w.next++
	w.fns[id] = fn
	return func() {
		sessionWatches.Lock()
		defer sessionWatches.Unlock()
		if w.fns != nil {
			delete(w.fns, id)
		}
	}
}

// deadline turns a timeout into a deadline; a negative timeout means none.
func deadline(timeout time.Duration) time.Time {
	if timeout < 0 {
		return time.Time{}
	}
	return time.Now().Add(timeout)
}

// errTimeout is the internal outcome of a wait whose manager-side deadline passed.
type timeoutError struct{}

func (timeoutError) Error() string { return "syncmgr: timed out" }

var errTimedOut error = timeoutError{}

// wait blocks until ch is closed, ctx ends, or the deadline (zero: none) passes. It
// returns nil, ctx.Err() or errTimedOut. Every wait of the SyncManager types goes
// through here, so this is where they tell the manager that an inline call is about to
// block (mgr.Blocking): the session's other calls are read meanwhile.
func wait(ctx context.Context, ch <-chan struct{}, dl time.Time) error {
	select {
	case <-ch:
		return nil
	default:
	}
	var timer <-chan time.Time
	if !dl.IsZero() {
		d := time.Until(dl)
		if d <= 0 {
			return errTimedOut
		}
		mgr.Blocking(ctx)
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	} else {
		mgr.Blocking(ctx)
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer:
		return errTimedOut
	}
}
