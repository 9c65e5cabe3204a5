package gentest

import (
	"context"
	"sync"
)

// Mailbox holds messages; WaitFor blocks until one arrives. WaitFor takes a context, so
// mgrgen makes the author choose between concurrent and serialized: Mailbox guards its
// own state and says concurrent, so a Put is never held up behind a waiting WaitFor
// (TestWaitingMethodDoesNotStallItsObject). With serialized, or in the generated code of
// an earlier mgrgen, which chose one at a time silently, the Put would wait until the
// WaitFor's ctx ended.
//
//mgr:expose concurrent
type Mailbox struct {
	mu      sync.Mutex
	msgs    []string
	waiting int
	arrived chan struct{} // closed and replaced by Put
}

// NewMailbox makes an empty Mailbox.
func NewMailbox() *Mailbox { return &Mailbox{arrived: make(chan struct{})} }

// Put adds a message and wakes the waiters.
func (m *Mailbox) Put(msg string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msg)
	close(m.arrived)
	m.arrived = make(chan struct{})
}

// WaitFor takes the first message, waiting for one until ctx ends.
func (m *Mailbox) WaitFor(ctx context.Context) (string, error) {
	m.mu.Lock()
	m.waiting++
	defer func() {
		m.mu.Lock()
		m.waiting--
		m.mu.Unlock()
	}()
	for len(m.msgs) == 0 {
		arrived := m.arrived
		m.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		m.mu.Lock()
	}
	msg := m.msgs[0]
	m.msgs = m.msgs[1:]
	m.mu.Unlock()
	return msg, nil
}

// Waiting returns how many WaitFor calls are waiting.
func (m *Mailbox) Waiting() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.waiting
}
