// Package templates holds the sources of outputs that are not Go — the live page of a
// manager (page/), written as html/template and plain JavaScript, and the SVG skeleton of
// mgrbench's charts (benchplot.svg.tmpl, a text/template), and the Python module mgrgen
// writes for python= types (pymodule.py.tmpl, a text/template) — embedded so that the
// runtime, the benchmark and the generator use them without files on disk. It is data only: it imports nothing but
// embed.
package templates

import "embed"

// FS holds page/: index.html.tmpl (an html/template) and page.js, page.css.
//
//go:embed page
var FS embed.FS
