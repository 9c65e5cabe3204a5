package templates

// mgrbench's charts: internal/bench cannot embed files of a parent directory, so the
// skeleton lives here.

import _ "embed"

// BenchPlotSVG is the skeleton of one mgrbench chart (internal/bench/plot.go fills it):
// a title, axes with their ticks, one polyline per series and a legend.
//
//go:embed benchplot.svg.tmpl
var BenchPlotSVG string
