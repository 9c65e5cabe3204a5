// Package benchobj holds the shared types mgrbench measures, exposed with //mgr:expose
// and turned into proxies by mgrgen (mgr_gen.go).
package benchobj

//go:generate go tool mgrgen

// Counter is the trivial shared object of the benchmarks: the method every row calls
// adds an int to it. It does no locking of its own: the manager serializes calls on one
// object (the default), as CPython's manager does with its per-connection threads and
// the GIL.
//
//mgr:expose constructor=NewCounter
type Counter struct {
	n int
}

// NewCounter returns a Counter starting at start.
func NewCounter(start int) *Counter { return &Counter{n: start} }

// Add adds d and returns the new value.
func (c *Counter) Add(d int) int {
	c.n += d
	return c.n
}

// Value returns the current value.
func (c *Counter) Value() int { return c.n }

// Size stores nothing and returns len(b): the 1 KiB payload row sends b to the manager.
func (c *Counter) Size(b []byte) int { return len(b) }

// Echo returns b: the 1 KiB payload row's round trip carries it both ways.
func (c *Counter) Echo(b []byte) []byte { return b }
