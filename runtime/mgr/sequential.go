package mgr

import "time"

// Slow calls of a sequential session run inline.
//
// An Inline method whose calls keep the reader longer than inlineSlow on average goes to
// workers (reader.go): run inline, it would hold the session's other calls behind it, one
// at a time. A session whose client makes one call at a time has no other calls to hold
// up, and there the hand-off costs what inline running saves — a wake-up of the worker,
// and one of the reader for the next call, which, read right after this call's reply was
// written, polls instead of parking (spin.go). A method that waits on a store — the etcd
// backend's, one round trip per call — is slow and spends its time waiting, so a
// sequential client paid both wake-ups on every call (an etcd-backed Dict Set+Get pair:
// 290 µs inline against 310–390 µs handed off, measured in blocks of 50 on 2 vCPUs).
//
// So a slow method's call runs inline when the session looks sequential: no other call
// of it is running, nothing else is read yet, and nothing says it makes calls side by
// side. Two things do: a call read while another of the session runs (a sequential
// client sends its next call only after the reply, and a call's count ends before its
// reply is written), and bytes that came while a slow call ran inline — asked when it
// ends, before its reply goes out. Slow calls then go to workers until idleToSequential
// calls in a row were read with none of the session's calls running and nothing behind
// them in the read buffer: one goroutine's call landing in another's gap between calls
// is not enough. (Whether the reader had to wait for a call's bytes is no sign: a reader
// slow to come back from handing a call to a worker finds the next one there, though
// the client waited for the reply — seen under the race detector.) A wrong
// guess costs one call's wait behind one slow call, once per turn from idle to
// concurrent. Methods marked InlineSequential (a store's round trip, however short) are
// treated as slow from their first call.

// inlineSlowAlone bounds the average hold of a method whose calls still run inline in a
// sequential session: a call longer than this would keep the session's Cancels and Pings
// unread for too long (a wait a method announces with Blocking does not count).
const inlineSlowAlone = 10 * time.Millisecond

// idleToSequential is how many calls in a row, each read with none of the session's
// calls running and nothing buffered, turn a concurrent session sequential again.
const idleToSequential = 8

// arrivals is what a session's raw reader tells about its connection (rawio_linux.go):
// pending reports whether bytes wait on it, unread.
type arrivals interface{ pending() bool }

// inlineNow reports whether a call of t's method runs in the reader now, and whether it
// does so as a slow call (one only a sequential session runs inline).
func (rd *sessionReader) inlineNow(t *serverType, method uint64) (inline, slow bool) {
	m := &t.Methods[method]
	if !m.Inline {
		return false, false
	}
	h := t.hold[method].Load()
	if h < int64(inlineSlow) && !m.InlineSequential {
		return true, false
	}
	if h >= int64(inlineSlowAlone) || !rd.sequential() {
		return false, false
	}
	return true, true
}

// sequential reports whether the session looks like one making a call at a time.
func (rd *sessionReader) sequential() bool {
	return rd.src != nil && rd.sess.running.Load() == 0 && !rd.sess.concurrent.Load() && rd.r.Buffered() == 0
}

// makeConcurrent records that the session makes calls side by side.
func (sess *session) makeConcurrent() {
	sess.idleRun.Store(0)
	if !sess.concurrent.Load() {
		sess.concurrent.Store(true)
	}
}

// noteQueued is called by a slow call run inline as it ends, before its reply is
// written: anything the client sent meanwhile makes the session concurrent.
func (rd *sessionReader) noteQueued() {
	if rd.r.Buffered() > 0 || rd.src.pending() {
		rd.sess.makeConcurrent()
	}
}

// noteCall learns from the call the reader just got whether the session is sequential.
func (rd *sessionReader) noteCall() {
	sess := rd.sess
	if rd.src == nil {
		return
	}
	if sess.running.Load() > 0 {
		sess.makeConcurrent() // a call while another runs
		return
	}
	if !sess.concurrent.Load() {
		return
	}
	if rd.queued {
		sess.idleRun.Store(0)
		return
	}
	if sess.idleRun.Add(1) >= idleToSequential {
		sess.idleRun.Store(0)
		sess.concurrent.Store(false)
	}
}
