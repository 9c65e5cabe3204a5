package mgr

import (
	"context"
	"time"
)

// Call goroutines are reused. A goroutine that runs a call grows its stack on the way
// down to the connection's write (bufio → deadline → syscall); a fresh goroutine per call
// paid that copy every time — 13% of a busy manager's CPU in mgrbench's profile. A worker
// that finishes a call waits a little for the next one; a call that finds no idle worker
// gets a new goroutine, so calls still never wait for each other (a blocked Queue.Get
// holds only its own worker).

// callJob is one call, run by a worker or inline by the session's reader.
type callJob struct {
	sess *session
	ctx  context.Context
	// rec is the call's registration in session.calls (calls.go); nil for a call without
	// a context of its own (an inline call runs under the session's ctx), unless the
	// reader was handed on while it ran (overrun).
	rec                  *callRec
	reqID, objID, method uint64
	obj                  *object // the object objID named when the call was read
	locked               bool    // obj.mu is held already (an inline call of a Serialized type)
	args                 *[]byte
	slot                 int
	rd                   *sessionReader // the reader running the call inline, or nil
	slow                 bool           // run inline though slow, as its session is sequential (sequential.go)
	meta                 []byte         // the call's metadata (CallMeta frames), or nil
	// A pipelined create keeps its outcome in promise; a call pipelined on a create that
	// failed, or on none, fails with pre without running anything (pipeline.go).
	promise *promise
	pre     error
}

// workerIdle is how long a worker waits for another call before it exits.
const workerIdle = 2 * time.Second

// goCall runs the call in an idle worker, or in a new one. s.idle is unbuffered, so a
// send succeeds only when a worker is waiting.
func (s *Server) goCall(j callJob) {
	select {
	case s.idle <- j:
	default:
		go s.callWorker(j)
	}
}

func (s *Server) callWorker(j callJob) {
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		j.sess.runCall(j)
		j = callJob{}
		t.Reset(workerIdle)
		select {
		case j = <-s.idle:
		case <-t.C:
			return
		}
	}
}
