package mgr

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// A CPython client that goes away while its call waits (a Queue.get, a Lock.acquire) must
// not leave the call waiting for ever, nor let it take an item that nobody will receive:
// CPython's own manager does both. The connection's goroutine is inside the call, so a
// call that runs for longer than watchAfter gets a watcher that reads the connection:
// end of stream cancels the call (a taken item goes back to its queue). A CPython client
// sends nothing else on the connection while it waits, but a byte that does come is kept
// for the next frame.

// watchAfter is how long a call runs before its connection is watched; most calls are
// over long before, and cost only a timer.
const watchAfter = 20 * time.Millisecond

// stashConn is the connection as the frame reader sees it: bytes the watcher read come
// first.
type stashConn struct {
	net.Conn
	rio   *rawIO // the raw reader where there is one (python_rawio_linux.go)
	mu    sync.Mutex
	stash []byte
}

func (c *stashConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.stash) > 0 {
		n := copy(p, c.stash)
		c.stash = c.stash[n:]
		c.mu.Unlock()
		return n, nil
	}
	c.mu.Unlock()
	if c.rio != nil {
		return c.rio.Read(p)
	}
	return c.Conn.Read(p)
}

// watcher is a connection's watching state: one timer, reused from call to call.
type watcher struct {
	mu       sync.Mutex
	busy     bool          // a call runs
	watching chan struct{} // a watcher goroutine runs; closed when it has ended
	timer    *time.Timer
	cancel   context.CancelFunc // ends the connection's calls
}

// watched runs fn, watching the connection if fn runs for longer than watchAfter: a
// client that has gone ends the context of the connection's calls.
func (pc *pyConn) watched(ctx context.Context, fn func(ctx context.Context) pyReply) pyReply {
	if pc.c.Buffered() > 0 {
		return fn(ctx) // the client has said more already: it is there
	}
	w := &pc.w
	w.mu.Lock()
	w.busy = true
	w.mu.Unlock()
	if w.timer == nil {
		w.timer = time.AfterFunc(watchAfter, pc.startWatch)
	} else {
		w.timer.Reset(watchAfter)
	}
	r := fn(ctx)
	w.timer.Stop()
	w.mu.Lock()
	w.busy = false
	done := w.watching
	w.watching = nil
	w.mu.Unlock()
	if done != nil {
		pc.conn.SetReadDeadline(time.Now()) // ends the watcher's read
		<-done
		pc.conn.SetReadDeadline(time.Time{})
	}
	return r
}

// startWatch starts a watcher for the call running, if one runs. A timer of an earlier
// call that fires late starts it early for the next: no harm.
func (pc *pyConn) startWatch() {
	w := &pc.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.busy || w.watching != nil {
		return
	}
	w.watching = make(chan struct{})
	go pc.watch(w.cancel, w.watching)
}

// watch reads the connection until the call ends (its read deadline passes): end of
// stream cancels the call.
func (pc *pyConn) watch(cancel context.CancelFunc, done chan<- struct{}) {
	defer close(done)
	var b [1]byte
	n, err := pc.raw.Conn.Read(b[:])
	if n == 1 {
		pc.raw.mu.Lock()
		pc.raw.stash = append(pc.raw.stash, b[0])
		pc.raw.mu.Unlock()
		return
	}
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		cancel()
	}
}
