package main

import "sync"

//go:generate go tool mgrgen

// Counter is seed 002's custom shared object: an integer that workers increment and
// decrement. It lives in the manager process; workers reach it through a CounterProxy.
// The generated dispatch runs one method at a time (no "concurrent" option), but Counter
// keeps its own lock as the Python original does, so it is safe to use directly too.
//
//mgr:expose
type Counter struct {
	mu    sync.Mutex
	value int
}

// Increment adds one and returns the new value.
func (c *Counter) Increment() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.value++
	return c.value
}

// Decrement subtracts one and returns the new value.
func (c *Counter) Decrement() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.value--
	return c.value
}

// Value returns the current value.
func (c *Counter) Value() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.value
}
