package gentest

// Score is a plain struct whose whole state is exported: its proxy gets GetValue, a copy
// of the Score made in the manager (Python's proxy._getvalue()).
//
//mgr:expose
type Score struct {
	Name   string
	Points []int
	Best   map[string]int
}

// NewScore makes a Score called name.
func NewScore(name string) *Score { return &Score{Name: name, Best: map[string]int{}} }

// Record adds p points scored by who.
func (s *Score) Record(who string, p int) {
	s.Points = append(s.Points, p)
	s.Best[who] = max(s.Best[who], p)
}
