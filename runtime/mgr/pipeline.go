package mgr

import (
	"fmt"

	"github.com/mgr-go/mgr/internal/wire"
)

// Pipelined calls, the manager's side (the client's is client_pipe.go, the protocol
// internal/wire/messages.go).
//
// A client creates an object with CtlCreatePipe and, without waiting for the reply,
// calls it with CallPipe frames that name it as "the result of request N". The reader
// registers a promise for every CtlCreatePipe it reads, before it reads the next frame,
// so a CallPipe always finds the promise of a create sent before it. A CallPipe whose
// create has finished runs like any call on the object (inline, if its method is); one
// whose create still runs (a constructor that takes a context) waits for it in a
// goroutine of its own, so the session's reading and its other calls go on, and a
// Cancel reaches it while it waits. A create that failed fails its dependent calls with
// its own error, and made nothing: no object, no reference.
//
// A promise stays until the client releases it by request ID (CtlReleaseN's second
// list): the client cannot know when the last CallPipe it sent before it learnt the
// object's ID has been read, but it knows when it is done with the proxy. Releasing the
// promise releases the reference the create made — at once, or when the create ends if
// it still runs. A session's promises go with it.

// maxPromises bounds the pipelined creates a session may hold unreleased: beyond it the
// client is broken (every proxy's Close or collection releases its promise).
const maxPromises = 1 << 20

// promise is the outcome of one pipelined create.
type promise struct {
	reqID uint64
	done  chan struct{} // closed once id or err is set
	id    uint64        // the object made
	err   error         // or why not
	// released: the client released the result before the create ended; the create's
	// end drops the reference and forgets the promise. Guarded by the session's cmu.
	released bool
}

// newPromise registers the promise of the pipelined create reqID, as the reader reads it.
func (sess *session) newPromise(reqID uint64) (*promise, error) {
	p := &promise{reqID: reqID, done: make(chan struct{})}
	sess.cmu.Lock()
	defer sess.cmu.Unlock()
	if len(sess.promises) >= maxPromises {
		return nil, fmt.Errorf("more than %d pipelined creates not released", maxPromises)
	}
	if sess.promises == nil {
		sess.promises = map[uint64]*promise{}
	}
	sess.promises[reqID] = p
	sess.npromises.Add(1)
	return p, nil
}

// promiseOf returns the promise of the pipelined create reqID, or nil.
func (sess *session) promiseOf(reqID uint64) *promise {
	sess.cmu.Lock()
	defer sess.cmu.Unlock()
	return sess.promises[reqID]
}

// keep records the outcome of the pipelined create p once its reply is settled: refs
// are the references its reply counts (the object made), err its failure.
func (sess *session) keep(p *promise, refs []uint64, err error) {
	if err == nil && len(refs) != 1 {
		err = fmt.Errorf("mgr: a create counted %d references", len(refs))
	}
	if err == nil {
		p.id = refs[0]
	} else {
		p.err = err
	}
	sess.cmu.Lock()
	drop := p.released
	if drop {
		sess.forgetLocked(p)
	}
	close(p.done)
	sess.cmu.Unlock()
	if drop && err == nil {
		sess.dropRefs(refs)
	}
}

func (sess *session) forgetLocked(p *promise) {
	if sess.promises[p.reqID] == p {
		delete(sess.promises, p.reqID)
		sess.npromises.Add(-1)
	}
}

// releasePromises handles the second list of CtlReleaseN: the client is done with the
// results of these pipelined creates. It returns how many named no promise.
func (sess *session) releasePromises(reqIDs []uint64) (failed int) {
	var refs []uint64
	sess.cmu.Lock()
	for _, id := range reqIDs {
		p := sess.promises[id]
		if p == nil {
			failed++
			continue
		}
		select {
		case <-p.done:
			sess.forgetLocked(p)
			if p.err == nil {
				refs = append(refs, p.id)
			}
		default:
			p.released = true // keep drops it when the create ends
		}
	}
	sess.cmu.Unlock()
	sess.dropRefs(refs) // takes the server's lock: not under cmu
	return failed
}

// pipeTarget resolves j, a CallPipe on the result of the create p that has finished:
// the object it made, or its error.
func (sess *session) pipeTarget(j *callJob, p *promise) {
	if p.err != nil {
		j.pre = pipeFailed(p.reqID, p.err)
		return
	}
	j.objID = p.id
	j.obj = sess.srv.lookup(p.id)
}

// pipeFailed is the error of a call pipelined on a create that failed: the create's,
// errors.Is and all.
func pipeFailed(reqID uint64, err error) error {
	return fmt.Errorf("the create this call was pipelined on (request %d) failed: %w", reqID, err)
}

// errNoPromise is the error of a CallPipe that names no pipelined create of the session.
func errNoPromise(reqID uint64) error {
	return callError(ErrUnknownObject, "request %d is not a pipelined create of this session, or its result was released", reqID)
}

// runAfter runs j, a CallPipe, once the create it depends on has finished — or fails it
// when its ctx ends first (a Cancel, its deadline, the session's end).
func (sess *session) runAfter(j callJob, p *promise) {
	select {
	case <-p.done:
		sess.pipeTarget(&j, p)
	case <-j.ctx.Done():
		j.pre = fmt.Errorf("waiting for the create this call was pipelined on (request %d): %w", p.reqID, j.ctx.Err())
	}
	sess.runCall(j)
}

// isPipeCreate reports whether a call of the control object is a pipelined create.
func isPipeCreate(objID, method uint64) bool {
	return objID == wire.ControlObject && method == wire.CtlCreatePipe
}
