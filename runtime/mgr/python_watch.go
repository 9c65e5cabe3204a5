package mgr

import (
	"context"
	"errors"
	"io"
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

// watchAfter is how long a call runs (up to twice that) before its connection is
// watched; most calls are over long before, and cost a lock and a counter.
const watchAfter = 20 * time.Millisecond

// stashConn is the connection as the frame reader sees it: bytes the watcher read come
// first.
type stashConn struct {
	net.Conn
	r     io.Reader // connReader(Conn)
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
	return c.r.Read(p)
}

// watcher is a connection's watching state. Its timer is not armed per call: arming a
// runtime timer from a goroutine that is about to answer makes the runtime wake another
// thread to look after timers (wakeNetPoller: a futex wake on the path of every call,
// 12% of the server's CPU in a profile of a sequential client). It ticks every
// watchAfter while the connection has calls, and stops at a tick that finds none
// running; a call that finds it stopped arms it. A call is watched once a tick finds it
// running that a tick before it (or the arming) saw start: after 20–40 ms.
type watcher struct {
	mu       sync.Mutex
	busy     bool          // a call runs
	seq      uint64        // calls started
	seen     uint64        // seq at the last tick (or the arming) that found a call running
	armed    bool          // the timer is set
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
	w.seq++
	if !w.armed {
		w.armed, w.seen = true, w.seq
		if w.timer == nil {
			w.timer = time.AfterFunc(watchAfter, pc.tick)
		} else {
			w.timer.Reset(watchAfter)
		}
	}
	w.mu.Unlock()
	r := fn(ctx)
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

// tick is the watcher's timer: it starts a watcher for a call that has run since the
// last tick, and stops ticking when no call runs.
func (pc *pyConn) tick() {
	w := &pc.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.busy {
		w.armed = false
		return
	}
	if w.seen == w.seq && w.watching == nil {
		w.watching = make(chan struct{})
		go pc.watch(w.cancel, w.watching)
	}
	w.seen = w.seq
	w.timer.Reset(watchAfter)
}

// stopWatching stops the timer when the connection's calls are over.
func (pc *pyConn) stopWatching() {
	w := &pc.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
	w.armed = false
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
