package mgr

import (
	"context"
	"log/slog"
	"slices"
	"sync"

	"github.com/mgr-go/mgr/internal/wire"
)

// Releasing references. A reference must reach the manager whatever the ctx of the
// Close that dropped it (a deferred Close after a cancelled request), and proxies
// collected by the garbage collector drop theirs in bursts: so releases go through one
// queue per client, sent in batches (CtlReleaseN) by a goroutine that runs while the
// queue is not empty, each batch bounded by the lease rather than by any caller's ctx.

// releaseBatch is the most references one CtlReleaseN frame carries.
const releaseBatch = 4096

// relRef is a reference to release: the object, and the client's session it belongs to
// (after a manager restart, the old session's are gone with it).
type relRef struct {
	id, sess uint64
}

type releaser struct {
	mu      sync.Mutex
	ids     []relRef
	waiters []chan struct{} // closed once the batch carrying their IDs was answered
	running bool
}

// dropRef queues the release of one of this session's references to object id, to be
// sent from a goroutine of its own.
func (c *Client) dropRef(id uint64) {
	c.dropRefOf(relRef{id: id, sess: c.sessGen.Load()})
}

func (c *Client) dropRefOf(ref relRef) {
	if _, send := c.queueRelease(ref, false); send {
		go c.sendReleases()
	}
}

// queueRelease queues the release of a reference to object id. With wait it returns a
// channel closed once the manager has dropped it (or the connection ended). send says
// that nobody is sending releases: the caller must (sendReleases).
func (c *Client) queueRelease(ref relRef, wait bool) (done <-chan struct{}, send bool) {
	r := &c.rel
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, ref)
	if !r.running {
		r.running = true
		return nil, true
	}
	if wait {
		ch := make(chan struct{})
		r.waiters = append(r.waiters, ch)
		done = ch
	}
	return done, false
}

// sendReleases sends queued releases until the queue is empty. A Close that finds nobody
// sending sends its own release itself, like a caller reading its own reply: no
// goroutine hand-off on the common path.
func (c *Client) sendReleases() {
	r := &c.rel
	for {
		r.mu.Lock()
		ids, waiters := r.ids, r.waiters
		r.ids, r.waiters = nil, nil
		if len(ids) == 0 {
			r.running = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		gen := c.sessGen.Load()
		ids = slices.DeleteFunc(ids, func(r relRef) bool { return r.sess != gen }) // a restarted manager's
		for len(ids) > 0 {
			batch := ids[:min(len(ids), releaseBatch)]
			ids = ids[len(batch):]
			ctx, cancel := context.WithTimeout(context.Background(), c.opts.lease())
			var failed uint64
			err := c.control(ctx, wire.CtlReleaseN, func(e *Encoder) {
				e.Uint64(uint64(len(batch)))
				for _, r := range batch {
					e.Uint64(r.id)
				}
			}, func(d *Decoder) { failed = d.Uint64() })
			cancel()
			if err == nil && failed > 0 {
				c.opts.logAt(slog.LevelWarn, "mgr: released references were not held by the session", slog.Uint64(LogSession, c.sessionID.Load()), slog.Uint64("failed", failed), slog.Int("released", len(batch)))
			}
		}
		for _, ch := range waiters {
			close(ch)
		}
	}
}

// releaseLeaked drops the reference of a Handle that was garbage collected without
// Close. It runs on the cleanup goroutine, and only queues the release.
func (c *Client) releaseLeaked(ref relRef) {
	select {
	case <-c.done:
		return
	default:
	}
	c.dropRefOf(ref)
}

// release implements handleOwner: Close queues the release and waits for it while ctx
// lasts. When ctx has ended already the release still goes out, from a goroutine of its
// own.
func (c *Client) release(ctx context.Context, h *Handle) error {
	select {
	case <-c.done:
		return nil // the session is gone; the manager dropped its references already
	default:
	}
	if h.sess != c.sessGen.Load() {
		return nil // the manager restarted: the reference went with the old session
	}
	ref := relRef{id: h.id, sess: h.sess}
	if ctx.Err() != nil {
		c.dropRefOf(ref)
		return nil
	}
	done, send := c.queueRelease(ref, true)
	if send {
		c.sendReleases()
		return nil
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
	return nil
}
