package mgr

import (
	"context"
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

type releaser struct {
	mu      sync.Mutex
	ids     []uint64
	waiters []chan struct{} // closed once the batch carrying their IDs was answered
	running bool
}

// dropRef queues the release of one of this session's references to object id, to be
// sent from a goroutine of its own.
func (c *Client) dropRef(id uint64) {
	if _, send := c.queueRelease(id, false); send {
		go c.sendReleases()
	}
}

// queueRelease queues the release of a reference to object id. With wait it returns a
// channel closed once the manager has dropped it (or the connection ended). send says
// that nobody is sending releases: the caller must (sendReleases).
func (c *Client) queueRelease(id uint64, wait bool) (done <-chan struct{}, send bool) {
	r := &c.rel
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, id)
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
		for len(ids) > 0 {
			batch := ids[:min(len(ids), releaseBatch)]
			ids = ids[len(batch):]
			ctx, cancel := context.WithTimeout(context.Background(), c.opts.lease())
			var failed uint64
			err := c.control(ctx, wire.CtlReleaseN, func(e *Encoder) {
				e.Uint64(uint64(len(batch)))
				for _, id := range batch {
					e.Uint64(id)
				}
			}, func(d *Decoder) { failed = d.Uint64() })
			cancel()
			if err == nil && failed > 0 {
				c.opts.logf("mgr: %d of %d released references were not held by session %d", failed, len(batch), c.sessionID)
			}
		}
		for _, ch := range waiters {
			close(ch)
		}
	}
}

// releaseLeaked drops the reference of a Handle that was garbage collected without
// Close. It runs on the cleanup goroutine, and only queues the release.
func (c *Client) releaseLeaked(id uint64) {
	select {
	case <-c.done:
		return
	default:
	}
	c.dropRef(id)
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
	if ctx.Err() != nil {
		c.dropRef(h.id)
		return nil
	}
	done, send := c.queueRelease(h.id, true)
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
