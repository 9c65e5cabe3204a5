// Package templates holds text/template sources for mgr's non-Go outputs, embedded so
// that the packages producing those outputs (which cannot embed files of a parent
// directory) can use them.
package templates

import _ "embed"

// BenchPlotSVG is the skeleton of one mgrbench chart (internal/bench/plot.go fills it):
// a title, axes with their ticks, one polyline per series and a legend.
//
//go:embed benchplot.svg.tmpl
var BenchPlotSVG string
