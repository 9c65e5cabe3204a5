package bench

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/mgr-go/mgr/templates"
)

// The plots (mgrbench -plot DIR): SVG charts of the run, drawn by hand from the
// skeleton in templates/benchplot.svg.tmpl — no plotting dependency.

// chart is what one SVG shows.
type chart struct {
	Title, Subtitle string
	XLabel, YLabel  string
	XLog            bool // logarithmic x axis (the data must be > 0)
	Series          []chartSeries
	// Marks draws a dot on every point and puts the x ticks at the points' x values
	// (for series of few points: goroutine and process counts).
	Marks bool
}

type chartSeries struct {
	Name string
	X, Y []float64
}

// The geometry of every chart, in SVG user units.
const (
	plotW, plotH             = 760, 440
	plotLeft, plotRight      = 80, 560
	plotTop, plotBottom      = 55, 380
	legendX, legendLineWidth = 580, 24
)

// palette colours series in order; mgr's series always take the first colour.
var palette = []string{"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#7f7f7f"}

var plotTmpl = template.Must(template.New("benchplot").Funcs(template.FuncMap{"x": xmlEscape}).Parse(templates.BenchPlotSVG))

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

type tick struct {
	Pos   string
	Label string
}

type svgPoint struct{ X, Y string }

type svgSeries struct {
	Name, Color, Points string
	Marks               []svgPoint
	LegendY             int
}

// svgData is the template's input: every coordinate already computed.
type svgData struct {
	Title, Subtitle, XLabel, YLabel                   string
	W, H, Left, Right, Top, Bottom                    int
	MidX, MidPlotX, MidPlotY, XTickY, YTickX, XLabelY int
	LegendX, LegendLineEnd, LegendTextX               int
	XTicks, YTicks                                    []tick
	Series                                            []svgSeries
}

// render draws c as an SVG document.
func (c chart) render() ([]byte, error) {
	if len(c.Series) == 0 {
		return nil, fmt.Errorf("chart %q has no series", c.Title)
	}
	xmin, xmax := math.Inf(1), math.Inf(-1)
	ymax := 0.0
	for _, s := range c.Series {
		if len(s.X) != len(s.Y) || len(s.X) == 0 {
			return nil, fmt.Errorf("chart %q: series %q has %d x and %d y values", c.Title, s.Name, len(s.X), len(s.Y))
		}
		for i, x := range s.X {
			if c.XLog && x <= 0 {
				return nil, fmt.Errorf("chart %q: series %q: x = %g on a log axis", c.Title, s.Name, x)
			}
			xmin, xmax, ymax = min(xmin, x), max(xmax, x), max(ymax, s.Y[i])
		}
	}
	var xticks []float64
	var fx func(float64) float64 // data → 0..1
	if c.Marks {
		for _, s := range c.Series {
			xticks = append(xticks, s.X...)
		}
		slices.Sort(xticks)
		xticks = slices.Compact(xticks)
	}
	switch {
	case c.Marks && c.XLog:
		lo, hi := math.Log10(xmin), math.Log10(xmax)
		if hi == lo {
			hi = lo + 1
		}
		fx = func(x float64) float64 { return (math.Log10(x) - lo) / (hi - lo) }
	case c.Marks:
		hi := max(xmax, 1)
		fx = func(x float64) float64 { return x / hi }
	case c.XLog:
		xticks = logTicks(xmin, xmax)
		lo, hi := math.Log10(min(xmin, xticks[0])), math.Log10(max(xmax, xticks[len(xticks)-1]))
		if hi == lo {
			hi = lo + 1
		}
		fx = func(x float64) float64 { return (math.Log10(x) - lo) / (hi - lo) }
	default:
		xticks = niceTicks(min(xmin, 0), xmax)
		lo, hi := xticks[0], xticks[len(xticks)-1]
		fx = func(x float64) float64 { return (x - lo) / (hi - lo) }
	}
	yticks := niceTicks(0, ymax)
	ytop := yticks[len(yticks)-1]
	fy := func(y float64) float64 { return y / ytop }
	px := func(x float64) float64 { return plotLeft + fx(x)*(plotRight-plotLeft) }
	py := func(y float64) float64 { return plotBottom - fy(y)*(plotBottom-plotTop) }

	d := svgData{
		Title: c.Title, Subtitle: c.Subtitle, XLabel: c.XLabel, YLabel: c.YLabel,
		W: plotW, H: plotH, Left: plotLeft, Right: plotRight, Top: plotTop, Bottom: plotBottom,
		MidX: plotW / 2, MidPlotX: (plotLeft + plotRight) / 2, MidPlotY: (plotTop + plotBottom) / 2,
		XTickY: plotBottom + 18, YTickX: plotLeft - 8, XLabelY: plotBottom + 42,
		LegendX: legendX, LegendLineEnd: legendX + legendLineWidth, LegendTextX: legendX + legendLineWidth + 6,
	}
	for _, t := range xticks {
		d.XTicks = append(d.XTicks, tick{coord(px(t)), fmtTick(t)})
	}
	for _, t := range yticks {
		d.YTicks = append(d.YTicks, tick{coord(py(t)), fmtTick(t)})
	}
	for i, s := range c.Series {
		ss := svgSeries{Name: s.Name, Color: palette[i%len(palette)], LegendY: plotTop + 10 + 22*i}
		var pts []string
		for j := range s.X {
			p := svgPoint{coord(px(s.X[j])), coord(py(s.Y[j]))}
			pts = append(pts, p.X+","+p.Y)
			if c.Marks {
				ss.Marks = append(ss.Marks, p)
			}
		}
		ss.Points = strings.Join(pts, " ")
		d.Series = append(d.Series, ss)
	}
	var buf bytes.Buffer
	if err := plotTmpl.Execute(&buf, d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func coord(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// niceTicks returns 4–8 evenly spaced round values (steps of 1, 2 or 5 × 10^k) from at
// most lo to at least hi.
func niceTicks(lo, hi float64) []float64 {
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ts []float64
	for v := math.Floor(lo/step) * step; ; v += step {
		ts = append(ts, v)
		if v >= hi {
			break
		}
	}
	return ts
}

// logTicks returns 1, 2, 5 × 10^k values spanning lo..hi (only powers of ten when the
// span is wide).
func logTicks(lo, hi float64) []float64 {
	k0, k1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	mults := []float64{1, 2, 5}
	if k1-k0 > 3 {
		mults = []float64{1}
	}
	var ts []float64
	for k := k0; k <= k1; k++ {
		for _, m := range mults {
			v := m * math.Pow(10, k)
			if v >= hi && len(ts) > 0 && ts[len(ts)-1] >= hi {
				break
			}
			if v*2 > lo || m == 1 && v*10 > lo { // drop ticks well below the data
				ts = append(ts, v)
			}
		}
	}
	// Trim leading ticks entirely below lo except the one just under it.
	for len(ts) > 1 && ts[1] <= lo {
		ts = ts[1:]
	}
	return ts
}

func fmtTick(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6 && math.Mod(a, 1e5) == 0:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case a >= 1e3 && math.Mod(a, 100) == 0:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	default:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
}

// distNames are the latency distributions' legend names, in drawing order (mgr first).
var distNames = []struct{ key, name string }{
	{"mgr.seq", "mgr"},
	{"floor", "floor (raw ping-pong)"},
	{"rpc.seq", "net/rpc"},
	{"grpc.seq", "gRPC-go"},
	{"py.seq", "CPython"},
}

// charts turns the run into its charts (name → chart); charts without data are left out.
func charts(r *Report) map[string]chart {
	out := map[string]chart{}
	byKey := map[string]Dist{}
	for _, d := range r.Dists {
		byKey[d.Key] = d
	}
	lat := chart{
		Title:    "Sequential call latency (cumulative distribution, to p99.9)",
		Subtitle: "one call at a time from one client; every row measured in the same run",
		XLabel:   "latency, µs (log scale)", YLabel: "calls at or under it, %", XLog: true,
	}
	for _, dn := range distNames {
		d, ok := byKey[dn.key]
		if !ok || len(d.Q) != distPoints {
			continue
		}
		s := chartSeries{Name: dn.name}
		for i := 0; i < distPoints-1; i++ { // to the 0.999 quantile: the maximum is one outlier
			if i > 990 || i%5 == 0 {
				s.X, s.Y = append(s.X, max(d.Q[i], 0.01)), append(s.Y, float64(i)/10)
			}
		}
		lat.Series = append(lat.Series, s)
	}
	if len(lat.Series) > 0 {
		out["latency"] = lat
	}
	for _, c := range []struct{ name, title, xlabel string }{
		{"goroutines", "Throughput by goroutines on one connection", "goroutines (log scale)"},
		{"processes", "Throughput by client processes (1 goroutine each)", "client processes"},
	} {
		ch := chart{Title: c.title, Subtitle: "Counter.Add / add(1): one shared object", XLabel: c.xlabel, YLabel: "calls/s", XLog: c.name == "goroutines", Marks: true}
		for _, s := range r.Series {
			if s.Chart == c.name {
				ch.Series = append(ch.Series, chartSeries{Name: s.Name, X: s.X, Y: s.Y})
			}
		}
		if len(ch.Series) > 0 {
			out[c.name] = ch
		}
	}
	return out
}

// writePlots writes the run's charts into dir as NAME.svg and returns the files written.
func writePlots(dir string, r *Report) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for _, name := range []string{"latency", "goroutines", "processes"} {
		c, ok := charts(r)[name]
		if !ok {
			continue
		}
		b, err := c.render()
		if err != nil {
			return files, err
		}
		f := filepath.Join(dir, name+".svg")
		if err := os.WriteFile(f, b, 0o644); err != nil {
			return files, err
		}
		files = append(files, f)
	}
	return files, nil
}
