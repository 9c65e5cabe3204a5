package mgr

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/mgr-go/mgr/internal/wire"
)

// Releasing references. A release never waits for the manager: Close and the garbage
// collector's cleanups queue the reference here, and the queue goes out as one
// CtlReleaseN call — in front of the next call this client sends, in the same write, or,
// when no call follows, at the client's next idle tick (client_pipe.go). Nobody waits for its reply
// either: it is a pending call like any other (a resume sends it again if the manager
// never read it), whose reply is handled where it is read. Since frames are read in
// order, a Close followed by any call through the same Client (Info, say) is seen by the
// manager before that call.

// releaseBatch is the most references one CtlReleaseN frame carries.
const releaseBatch = 4096

// relRef is a reference to release: the object, or (pipe) the request ID of the
// pipelined create whose result it is; and the client's session it belongs to (after a
// manager restart, the old session's are gone with it).
type relRef struct {
	id, pipe, sess uint64
}

type releaser struct {
	mu     sync.Mutex
	ids    []relRef
	spare  []relRef    // ids' last backing array, handed back by sendReleases for reuse
	queued atomic.Bool // ids is not empty
}

// dropRef queues the release of one of this session's references to object id.
func (c *Client) dropRef(id uint64) {
	c.dropRefOf(relRef{id: id, sess: c.sessGen.Load()})
}

// dropRefOf queues the release of ref, to go with the next call or at the next idle tick.
func (c *Client) dropRefOf(ref relRef) {
	r := &c.rel
	r.mu.Lock()
	r.ids = append(r.ids, ref)
	r.queued.Store(true)
	r.mu.Unlock()
	c.deferred.Store(true)
}

// sendReleases sends the queued releases, deferred (left in the write buffer for the
// frame about to follow) or not.
func (c *Client) sendReleases(deferred bool) {
	r := &c.rel
	r.mu.Lock()
	all := r.ids
	r.ids, r.spare = r.spare, nil
	r.queued.Store(false)
	r.mu.Unlock()
	gen := c.sessGen.Load()
	ids := slices.DeleteFunc(all, func(r relRef) bool { return r.sess != gen }) // a restarted manager's
	for len(ids) > 0 {
		batch := ids[:min(len(ids), releaseBatch)]
		ids = ids[len(batch):]
		call := c.newCall(c.controlHandle(gen), wire.CtlReleaseN)
		pipes := 0
		for _, r := range batch {
			if r.pipe != 0 {
				pipes++
			}
		}
		call.Args.Uint64(uint64(len(batch) - pipes))
		for _, r := range batch {
			if r.pipe == 0 {
				call.Args.Uint64(r.id)
			}
		}
		if pipes > 0 {
			call.Args.Uint64(uint64(pipes))
			for _, r := range batch {
				if r.pipe != 0 {
					call.Args.Uint64(r.pipe)
				}
			}
		}
		call.nrel = len(batch)
		call.onDone = releasesDone
		// A failure is the connection's end: the manager drops the session's references.
		_ = c.send(context.Background(), call, deferred)
	}
	if cap(all) <= releaseBatch {
		r.mu.Lock()
		r.spare = all[:0] // the next queue reuses it: releasing allocates nothing
		r.mu.Unlock()
	}
}

// releasesDone is a CtlReleaseN's onDone: it logs references the manager did not know.
// A function, not a closure, so a release allocates nothing for it.
func releasesDone(call *Call) {
	c := call.conn
	defer c.putCall(call)
	if call.err != nil {
		return // the session's end drops them
	}
	d := Decoder{buf: call.reply}
	if failed := d.Uint64(); d.Done() == nil && failed > 0 {
		c.opts.logAt(slog.LevelWarn, "mgr: released references were not held by the session", slog.Uint64(LogSession, c.sessionID.Load()), slog.Uint64("failed", failed), slog.Int("released", call.nrel))
	}
}

// releaseLeaked drops the reference of a Handle that was garbage collected without
// Close. It runs on the cleanup goroutine, and only queues the release.
func releaseLeaked(l leakedRef) {
	c := l.c
	select {
	case <-c.done:
		return
	default:
	}
	c.dropRefOf(l.ref)
}

// leakedRef is what a Handle's cleanup needs: its client and the reference. It must not
// point at the Handle, or the Handle would never be collected.
type leakedRef struct {
	c   *Client
	ref relRef
}

// release implements handleOwner: Close queues the release, which goes out with the
// next call or at the next idle tick; it does not wait for the manager.
func (c *Client) release(_ context.Context, h *Handle) error {
	select {
	case <-c.done:
		return nil // the session is gone; the manager dropped its references already
	default:
	}
	if h.sess != c.sessGen.Load() {
		return nil // the manager restarted: the reference went with the old session
	}
	ref := relRef{id: h.id, sess: h.sess}
	if h.pipe != nil {
		ref = relRef{pipe: h.pipe.reqID, sess: h.sess}
	}
	c.dropRefOf(ref)
	return nil
}
