package pickle

import "math"

// Limits bound what decoding one pickle may cost. A zero field takes its default.
// Decoding is a stack machine (no recursion on the input), so time and memory are
// linear in the input within these bounds; the bounds on depth and expansion protect the
// recursive steps (building canonical tuples, converting the result) from deep nesting
// and from memo references that repeat one value many times ("billion laughs").
type Limits struct {
	MaxSize      int // input bytes (default 64 MiB)
	MaxDepth     int // nesting of containers and MARKs (default 1000, Python's recursion limit)
	MaxMemo      int // memo entries, and the largest memo index (default 1<<22)
	MaxString    int // one str, bytes, bytearray or int body (default: MaxSize)
	MaxContainer int // items in one container, and values on the stack (default 1<<22)
	// MaxExpand bounds the bytes of canonical encodings built while decoding (tuple,
	// frozenset and opaque bodies); default 4×input + 1 MiB.
	MaxExpand int
}

// DefaultLimits are the defaults of Limits.
var DefaultLimits = Limits{
	MaxSize:      64 << 20,
	MaxDepth:     1000,
	MaxMemo:      1 << 22,
	MaxContainer: 1 << 22,
}

func (l Limits) withDefaults() Limits {
	if l.MaxSize <= 0 {
		l.MaxSize = DefaultLimits.MaxSize
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxMemo <= 0 {
		l.MaxMemo = DefaultLimits.MaxMemo
	}
	if l.MaxString <= 0 {
		l.MaxString = l.MaxSize
	}
	if l.MaxContainer <= 0 {
		l.MaxContainer = DefaultLimits.MaxContainer
	}
	return l
}

// budget is the expansion allowance shared by everything one decode builds.
type budget struct {
	lim  Limits
	left int
}

func newBudget(l Limits, input int) *budget {
	l = l.withDefaults()
	left := l.MaxExpand
	if left <= 0 {
		left = 4*input + 1<<20
	}
	return &budget{lim: l, left: left}
}

// unlimited is the budget of values Go code builds (MakeTuple): trusted, so only depth
// is bounded.
func unlimited() *budget {
	return &budget{lim: DefaultLimits.withDefaults(), left: math.MaxInt}
}
