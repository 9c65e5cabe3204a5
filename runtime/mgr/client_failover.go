package mgr

import (
	"context"
	"net"
	"sync/atomic"
)

// Failing over to another manager (Options.Failover): a client whose manager stops
// answering redials the others, and one that shares the manager's Backend adopts the
// session (backend.go; the wire status ResumeAdopted).

// failoverState is where the client dials now, and a link a manager adopted the session
// on, for restarted to take instead of redialling.
type failoverState struct {
	cur     atomic.Int32 // index into [Address, Failover...] that answered last
	adopted *link        // guarded by Client.mu
}

// dialFailover dials the manager that answered last, then the others in turn.
func (c *Client) dialFailover(ctx context.Context) (net.Conn, error) {
	addrs := append([]Address{c.addr}, c.opts.Failover...)
	start := int(c.failover.cur.Load())
	var first error
	for i := range addrs {
		k := (start + i) % len(addrs)
		conn, err := dial(ctx, addrs[k], c.opts.TLS)
		if err == nil {
			c.failover.cur.Store(int32(k))
			return conn, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// keepAdopted keeps l, on which a manager adopted the session, for restarted.
func (c *Client) keepAdopted(l *link) {
	c.mu.Lock()
	c.failover.adopted = l
	c.mu.Unlock()
}

// adoptedOrRedial returns the link a manager adopted the session on, or a new one.
func (c *Client) adoptedOrRedial(ctx context.Context) (*link, error) {
	c.mu.Lock()
	l := c.failover.adopted
	c.failover.adopted = nil
	c.mu.Unlock()
	if l != nil {
		return l, nil
	}
	return c.redial(ctx)
}

// failoverNext makes the next dial start with the manager after the one that answered
// last: it accepted the connection but the handshake failed.
func (c *Client) failoverNext() {
	if n := int32(len(c.opts.Failover) + 1); n > 1 {
		c.failover.cur.Store((c.failover.cur.Load() + 1) % n)
	}
}
