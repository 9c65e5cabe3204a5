// ERROR: 17:1: Queue.WaitFor takes a context.Context, so it may wait, and without concurrent the manager runs one method of a Queue at a time: while it waits, every other call of that object waits behind it. Add concurrent to its //mgr:expose line if Queue guards its own state (a sync.Mutex), so its methods run side by side, or serialized to keep one method at a time knowingly
// ERROR: 28:1: Event.Wait (and WaitTimeout) take a context.Context
// ERROR: 36:1: Mailbox.Take takes a context.Context
// ERROR: 43:25: concurrent and serialized contradict each other
package stall

import (
	"context"
	"sync"
	"time"
)

// Queue is the trap: WaitFor blocks, and without concurrent a Put would wait behind it
// until WaitFor timed out. mgrgen
// says so at the directive.
//
//mgr:expose
type Queue struct {
	items []int
}

func (q *Queue) Put(x int)                         { q.items = append(q.items, x) }
func (q *Queue) WaitFor(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
func (q *Queue) Len() int                          { return len(q.items) }

// Event names every method that takes a context.
//
//mgr:expose
type Event struct{}

func (*Event) Wait(ctx context.Context) error                                 { return nil }
func (*Event) WaitTimeout(ctx context.Context, d time.Duration) (bool, error) { return false, nil }

// Mailbox: inline does not make a waiting method safe for a one-at-a-time object.
//
//mgr:expose inline
type Mailbox struct{}

func (*Mailbox) Take(ctx context.Context) (string, error) { return "", nil }

// Both cannot be both.
//
//mgr:expose concurrent serialized
type Both struct{ mu sync.Mutex }

func (*Both) Wait(ctx context.Context) error { return nil }

// Locking guards itself and says so: no error.
//
//mgr:expose concurrent
type Locking struct{ mu sync.Mutex }

func (*Locking) Wait(ctx context.Context) error { return nil }

// Knowing keeps one method at a time knowingly: no error.
//
//mgr:expose serialized
type Knowing struct{}

func (*Knowing) Get(ctx context.Context) (int, error) { return 0, ctx.Err() }

// Plain takes no context: one method at a time is right, no option needed.
//
//mgr:expose
type Plain struct{ n int }

func (p *Plain) Add(d int) int { p.n += d; return p.n }
