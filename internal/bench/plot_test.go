package bench

import (
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// svgSeriesSeen is what a chart's XML says about one series.
type svgSeriesSeen struct {
	name   string
	points [][2]float64
}

// parseSVG decodes a whole SVG document (failing on malformed XML) and returns its
// series groups in order and its text.
func parseSVG(t *testing.T, b []byte) (series []svgSeriesSeen, text string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(string(b)))
	var texts strings.Builder
	depth, root := 0, ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, b)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				root = e.Name.Local
			}
			depth++
			attr := func(name string) string {
				for _, a := range e.Attr {
					if a.Name.Local == name {
						return a.Value
					}
				}
				return ""
			}
			switch {
			case e.Name.Local == "g" && attr("class") == "series":
				series = append(series, svgSeriesSeen{name: attr("data-name")})
			case e.Name.Local == "polyline" && len(series) > 0:
				for p := range strings.FieldsSeq(attr("points")) {
					xs, ys, ok := strings.Cut(p, ",")
					x, err1 := strconv.ParseFloat(xs, 64)
					y, err2 := strconv.ParseFloat(ys, 64)
					if !ok || err1 != nil || err2 != nil {
						t.Fatalf("series %q: bad point %q", series[len(series)-1].name, p)
					}
					s := &series[len(series)-1]
					s.points = append(s.points, [2]float64{x, y})
				}
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			texts.Write(e)
			texts.WriteByte(' ')
		}
	}
	if root != "svg" || depth != 0 {
		t.Fatalf("root element %q, depth at the end %d", root, depth)
	}
	return series, texts.String()
}

// testReport is a run with every kind of data the plots draw.
func testReport() *Report {
	r := &Report{}
	dist := func(scale float64) []float64 {
		q := make([]float64, distPoints)
		for i := range q {
			q[i] = scale * (1 + float64(i)/100) // rising: a valid distribution
		}
		return q
	}
	r.AddDist("mgr.seq", "mgr sequential Add", dist(20))
	r.AddDist("floor", "raw ping-pong", dist(15))
	r.AddDist("rpc.seq", "net/rpc", dist(40))
	r.AddDist("py.seq", "CPython", dist(35))
	r.Series = []Series{
		{Chart: "goroutines", Name: "mgr", X: []float64{1, 2, 4, 8, 16, 32, 64}, Y: []float64{9e3, 15e3, 30e3, 60e3, 100e3, 130e3, 150e3}},
		{Chart: "goroutines", Name: "net/rpc", X: []float64{1, 2, 4, 8, 16, 32, 64}, Y: []float64{8e3, 12e3, 20e3, 30e3, 40e3, 45e3, 50e3}},
		{Chart: "processes", Name: "mgr", X: []float64{1, 2, 4}, Y: []float64{10e3, 18e3, 25e3}},
		{Chart: "processes", Name: "CPython", X: []float64{1, 2, 4}, Y: []float64{8e3, 12e3, 14e3}},
	}
	return r
}

func TestPlotsAreSVGWithTheirSeries(t *testing.T) {
	dir := t.TempDir()
	files, err := writePlots(dir, testReport())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"latency.svg":    {"mgr", "floor (raw ping-pong)", "net/rpc", "CPython"},
		"goroutines.svg": {"mgr", "net/rpc"},
		"processes.svg":  {"mgr", "CPython"},
	}
	if len(files) != len(want) {
		t.Fatalf("wrote %v, want %d files", files, len(want))
	}
	for name, names := range want {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		series, _ := parseSVG(t, b)
		var got []string
		for _, s := range series {
			got = append(got, s.name)
			if len(s.points) < 2 {
				t.Errorf("%s: series %q has %d points", name, s.name, len(s.points))
			}
			for _, p := range s.points {
				if p[0] < plotLeft-0.05 || p[0] > plotRight+0.05 || p[1] < plotTop-0.05 || p[1] > plotBottom+0.05 {
					t.Errorf("%s: series %q: point %v outside the plot area", name, s.name, p)
				}
			}
		}
		if !slices.Equal(got, names) {
			t.Errorf("%s: series %q, want %q", name, got, names)
		}
	}
	// A faster series is drawn to the left of a slower one at the same percentile.
	b, _ := os.ReadFile(filepath.Join(dir, "latency.svg"))
	series, _ := parseSVG(t, b)
	if mgrX, rpcX := series[0].points[100][0], series[2].points[100][0]; mgrX >= rpcX {
		t.Errorf("latency: mgr at x=%v is not left of net/rpc at x=%v", mgrX, rpcX)
	}
}

func TestPlotEscapesText(t *testing.T) {
	c := chart{Title: `p50 < p99 & "tails"`, XLabel: "x", YLabel: "y",
		Series: []chartSeries{{Name: "a<b & c", X: []float64{1, 2}, Y: []float64{3, 4}}}}
	b, err := c.render()
	if err != nil {
		t.Fatal(err)
	}
	series, text := parseSVG(t, b)
	if len(series) != 1 || series[0].name != "a<b & c" {
		t.Errorf("series %+v", series)
	}
	if !strings.Contains(text, `p50 < p99 & "tails"`) {
		t.Errorf("title lost in %q", text)
	}
}

func TestPlotRejectsBadSeries(t *testing.T) {
	for name, c := range map[string]chart{
		"no series":   {Title: "t"},
		"uneven":      {Title: "t", Series: []chartSeries{{Name: "s", X: []float64{1, 2}, Y: []float64{1}}}},
		"empty":       {Title: "t", Series: []chartSeries{{Name: "s"}}},
		"log of zero": {Title: "t", XLog: true, Series: []chartSeries{{Name: "s", X: []float64{0, 1}, Y: []float64{1, 2}}}},
	} {
		if _, err := c.render(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestTicks(t *testing.T) {
	for _, c := range []struct{ lo, hi float64 }{{0, 134922}, {0, 1}, {0, 7}, {0, 0}, {0, 99.9}} {
		ts := niceTicks(c.lo, c.hi)
		if len(ts) < 2 || len(ts) > 12 || ts[0] > c.lo || ts[len(ts)-1] < c.hi || !slices.IsSorted(ts) {
			t.Errorf("niceTicks(%v, %v) = %v", c.lo, c.hi, ts)
		}
	}
	for _, c := range []struct{ lo, hi float64 }{{12, 23000}, {15, 90}, {0.5, 3}} {
		ts := logTicks(c.lo, c.hi)
		if len(ts) < 2 || ts[0] > c.lo || ts[len(ts)-1] < c.hi || !slices.IsSorted(ts) {
			t.Errorf("logTicks(%v, %v) = %v", c.lo, c.hi, ts)
		}
		for _, v := range ts {
			m := v / math.Pow(10, math.Floor(math.Log10(v)+1e-9))
			if r := math.Round(m); math.Abs(m-r) > 1e-9 || (r != 1 && r != 2 && r != 5) {
				t.Errorf("logTicks(%v, %v): %v is not 1, 2 or 5 × 10^k", c.lo, c.hi, v)
			}
		}
	}
	for v, want := range map[float64]string{150000: "150k", 1e6: "1M", 2500: "2.5k", 20: "20", 0.5: "0.5"} {
		if got := fmtTick(v); got != want {
			t.Errorf("fmtTick(%v) = %q, want %q", v, got, want)
		}
	}
}
