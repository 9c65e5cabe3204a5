package main

import "sync"

//go:generate go tool mgrgen

// Counter is seed 002's shared counter, served to CPython clients as typeid Counter
// (python=Counter): Python calls increment(), decrement() and add(delta) — the snake_case
// names of the Go methods — and get_value(), which pyname= gives Value.
//
//mgr:expose python=Counter pyname=Value:get_value
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

// Add adds delta (a Python int) and returns the new value.
func (c *Counter) Add(delta int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.value += delta
	return c.value
}

// Value returns the current value.
func (c *Counter) Value() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.value
}

// Pair is seed 004's one shared pair, served to CPython clients as typeid get_pair with
// only get_x exposed (register('get_pair', callable=lambda: pair, exposed=['get_x'])):
// nocreate, so Python cannot make one; main shares the one Pair under that typeid.
//
//mgr:expose methods=GetX nocreate python=get_pair
type Pair struct {
	X, Y int
}

// GetX returns x.
func (p *Pair) GetX() int { return p.X }

// GetY returns y; it is not exposed.
func (p *Pair) GetY() int { return p.Y }
