// Package geo is a plain package whose struct types cross the wire as values of
// another package's exposed methods.
package geo

// Point is a point in the plane.
type Point struct {
	X, Y float64
	// Label names the point.
	Label string
}
