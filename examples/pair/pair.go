package main

//go:generate go tool mgrgen

// Pair is seed 004's example of register(exposed=['get_x']): it has four methods, but
// only GetX is exposed. The manager builds a dispatch table with GetX alone, and the
// generated PairProxy has GetX alone, so calling SetX from another process does not
// compile — and a hand-made call of any other method is refused by the manager.
//
//mgr:expose methods=GetX nocreate
type Pair struct {
	X, Y int
}

// GetX returns x.
func (p *Pair) GetX() int { return p.X }

// GetY returns y.
func (p *Pair) GetY() int { return p.Y }

// SetX sets x.
func (p *Pair) SetX(x int) { p.X = x }

// SetY sets y.
func (p *Pair) SetY(y int) { p.Y = y }
