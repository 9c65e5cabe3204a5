package main

import "sync"

//go:generate go tool mgrgen

// Counter is seed 002's shared counter, served to CPython clients as typeid Counter:
// Python calls increment(), decrement() and get_value() — the snake_case names of the
// Go methods.
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

// GetValue returns the current value.
func (c *Counter) GetValue() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.value
}

// Pair is seed 004's one shared pair, served to CPython clients as typeid get_pair with
// only get_x exposed (register('get_pair', callable=lambda: pair, exposed=['get_x'])).
//
//mgr:expose methods=GetX nocreate
type Pair struct {
	X, Y int
}

// GetX returns x.
func (p *Pair) GetX() int { return p.X }

// GetY returns y; it is not exposed.
func (p *Pair) GetY() int { return p.Y }
