// Package types carries values of every kind the generated code knows.
package types

import (
	"net/netip"
	"time"
)

// Celsius is a named basic type.
type Celsius float64

// Bits is a named byte slice.
type Bits []byte

// Point is a struct of this package.
type Point struct{ X, Y int }

// Node refers to itself.
type Node struct {
	Next *Node
	Val  string
}

// All has one method per kind of value.
//
//mgr:expose
type All struct{}

// Basics takes basic types, including variables named like the generated locals.
func (All) Basics(p bool, c int8, res uint16, err float32, h complex64, r0 uintptr) (int, uint, string) {
	return 0, 0, ""
}

// Named takes named types.
func (All) Named(t Celsius, b Bits, d time.Duration, at time.Time) (Celsius, Bits) { return 0, nil }

// Errors takes and returns errors as values; only the last result is the call's error.
func (All) Errors(e error) (error, error) { return nil, nil }

// Other takes a struct of another package and composites of structs.
func (All) Other(a netip.Addr, ps []Point, m map[string]*Node, arr [2]Point) *Point { return nil }

// Anything takes any and anonymous structs.
func (All) Anything(v any, s struct{ A, B int }) any { return nil }

// Variadic takes a variadic byte list.
func (All) Variadic(prefix string, bs ...byte) int { return 0 }

// Time shadows no package: the parameter named time is renamed.
func (All) Time(time time.Time) {}
