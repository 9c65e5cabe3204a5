package pickle

import "fmt"

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
	// MaxExpand bounds the bytes of canonical encodings built while decoding (hashable
	// tuple, frozenset and opaque bodies); default 4×input + 64 MiB. A hashable tuple's
	// body spells out what it holds, so nesting shared ones ((t, t), then that twice, …)
	// expands exponentially: "billion laughs", stopped here. Tuples holding a list, dict
	// or set — a reply holding one config dict 40000 times — hold it by reference and
	// cost nothing here.
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
	// hashLeft bounds the bytes of long keys hashed (hashKey): a long key set again and
	// again through the memo is hashed in full each time.
	hashLeft int
}

// hashFree is the key length below which hashing is not counted: a memo reference
// (2 to 5 bytes of pickle) then costs at most a few dozen bytes of hashing.
const hashFree = 64

func newBudget(l Limits, input int) *budget {
	l = l.withDefaults()
	left := l.MaxExpand
	if left <= 0 {
		left = 4*input + 64<<20
	}
	return &budget{lim: l, left: left, hashLeft: 16*input + 64<<20}
}

// unlimited is the budget of values Go code builds (MakeTuple, MakeFrozenSet): their
// canonical bodies are bounded by what Decode reads by default (MaxSize), since the
// elements may be values a peer sent whose sharing would expand them without bound
// (a list holding one list twice, forty deep).
func unlimited() *budget {
	return &budget{lim: DefaultLimits.withDefaults(), left: DefaultLimits.MaxSize, hashLeft: DefaultLimits.MaxSize}
}

// hashed charges the hashing of key, a dict key or set member.
func (b *budget) hashed(key any) error {
	var n int
	switch k := key.(type) {
	case string:
		n = len(k)
	case Bytes:
		n = len(k)
	case Tuple:
		n = len(k.enc) // an unhashable tuple never gets here (Hashable)
	case FrozenSet:
		n = len(k.enc)
	case Opaque:
		n = len(k.pkl)
	case BigInt:
		n = len(k.le)
	}
	if n < hashFree {
		return nil
	}
	if b.hashLeft -= n; b.hashLeft < 0 {
		return fmt.Errorf("%w: long dict keys or set members hashed again and again (a key set repeatedly through the memo)", ErrLimit)
	}
	return nil
}
