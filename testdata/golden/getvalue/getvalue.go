// Package getvalue shows which proxies get GetValue, Python's _getvalue(): those of
// serialized types whose whole state is exported fields the codec carries whole.
package getvalue

import (
	"sync"
	"time"
)

// Point gets GetValue: every field exported and carried whole.
//
//mgr:expose
type Point struct {
	X, Y int
	Tags []string
	At   time.Time
}

// Move moves the point.
func (p *Point) Move(dx, dy int) { p.X += dx; p.Y += dy }

// Entry is generic: GetValue returns an Entry[K, V].
//
//mgr:expose
type Entry[K comparable, V any] struct {
	Key K
	Val V
}

// Set sets the value.
func (e *Entry[K, V]) Set(v V) { e.Val = v }

// Hidden keeps its state unexported: a copy would be empty, so no GetValue.
//
//mgr:expose
type Hidden struct{ n int }

// Inc increments.
func (h *Hidden) Inc() int { h.n++; return h.n }

// Locked has an exported lock, which a copy cannot carry: no GetValue.
//
//mgr:expose
type Locked struct {
	Mu sync.Mutex
	N  int
}

// Inc increments.
func (l *Locked) Inc() int { l.N++; return l.N }

// Shared is concurrent: a copy would race with its methods, so no GetValue.
//
//mgr:expose concurrent
type Shared struct{ N int }

// Get returns N.
func (s *Shared) Get() int { return s.N }

// Narrow exposes only Get: GetValue would show what methods= hides, so none.
//
//mgr:expose methods=Get
type Narrow struct{ Public, Secret int }

// Get returns Public.
func (n *Narrow) Get() int { return n.Public }

// Secretly returns Secret; it is not exposed.
func (n *Narrow) Secretly() int { return n.Secret }

// Mine has a GetValue of its own, which the proxy calls: the user's method wins.
//
//mgr:expose
type Mine struct{ N int }

// GetValue returns N.
func (m *Mine) GetValue() int { return m.N }
