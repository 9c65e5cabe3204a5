// Package generic exposes generic types.
package generic

import "cmp"

// Box holds a value.
//
//mgr:expose
type Box[T any] struct{ v T }

// NewBox is generic like Box.
func NewBox[T any](v T) *Box[T] { return &Box[T]{v: v} }

// Get returns the value.
func (b *Box[T]) Get() T { return b.v }

// Set sets the value; the receiver names its type parameter differently.
func (b *Box[U]) Set(v U) { b.v = v }

// Copy returns a proxy to a new Box.
func (b *Box[T]) Copy() *Box[T] { return &Box[T]{v: b.v} }

// Ints returns a proxy to a Box of another instantiation.
func (b *Box[T]) Ints() *Box[int] { return &Box[int]{} }

// Sorted is a map with ordered keys and an integer-like value constraint.
//
//mgr:expose
type Sorted[K cmp.Ordered, V ~int | ~int64] struct{ m map[K]V }

// Put stores v under k.
func (s *Sorted[K, V]) Put(k K, v V) {}

// Keys returns the keys in order.
func (s *Sorted[K, V]) Keys() []K { return nil }

// Merge takes a proxy of the same instantiation.
func (s *Sorted[K, V]) Merge(other *Sorted[K, V]) error { return nil }
