package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

func fmtValue(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 100:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func writeTable(w io.Writer, r *Report) {
	fmt.Fprintf(w, "mgrbench — %s/%s, %d CPUs (%s), %s, python %s, kernel %s, ulimit -n %d\n",
		r.Machine.GOOS, r.Machine.GOARCH, r.Machine.CPUs, r.Machine.CPU, r.Machine.Go, orDash(r.Machine.Python), r.Machine.Kernel, r.Machine.FDLimit)
	fmt.Fprintf(w, "command: %s   (%.0f s%s)\n\n", r.Command, r.Seconds, map[bool]string{true: ", quick"}[r.Quick])
	writeMetricTable(w, r)
	fmt.Fprintln(w)
	writeTargetTable(w, r)
	for _, s := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", s)
	}
}

// writeMetricTable writes the rows as a Markdown table (readable as text too).
func writeMetricTable(w io.Writer, r *Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "| row\t| metric\t| value\t| unit\t| anchors (value; ratio = value / anchor)\t|")
	fmt.Fprintln(tw, "|---\t|---\t|---:\t|---\t|---\t|")
	for _, m := range r.Metrics {
		val := m.Status
		if m.Value != nil {
			val = fmtValue(*m.Value)
		}
		var anchors []string
		keys := make([]string, 0, len(m.Anchors))
		for _, k := range m.anchorKeys {
			if _, ok := m.Anchors[k]; ok {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			anchors = append(anchors, fmt.Sprintf("%s %s; **%s×**", k, fmtValue(m.Anchors[k]), fmtRatio(m.Ratios[k])))
		}
		label := m.Label
		if m.Note != "" {
			label += " (" + m.Note + ")"
		}
		fmt.Fprintf(tw, "| %s\t| %s\t| %s\t| %s\t| %s\t|\n", m.Key, label, val, m.Unit, strings.Join(anchors, " · "))
	}
	tw.Flush()
}

func writeTargetTable(w io.Writer, r *Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "| target\t| metric / anchor\t| ratio\t| needed\t| status\t| ceiling here\t|")
	fmt.Fprintln(tw, "|---\t|---\t|---:\t|---\t|---\t|---\t|")
	for _, t := range r.Targets {
		ratio := "—"
		if t.Status != "n/a" {
			ratio = fmtRatio(t.Ratio)
		}
		of := t.Metric
		if t.Anchor != "" {
			of += " / " + t.Anchor
		}
		st := t.Status
		if st == "met" || st == "missed" {
			st = strings.ToUpper(st)
		}
		ceiling := "—"
		if t.CeilingRatio != 0 {
			ceiling = fmt.Sprintf("%s (%s / %s)", fmtRatio(t.CeilingRatio), t.Ceiling, t.Anchor)
		}
		fmt.Fprintf(tw, "| %s\t| %s\t| %s\t| %s %s\t| %s\t| %s\t|\n", t.Name, of, ratio, t.Op, fmtRatio(t.Factor), st, ceiling)
	}
	tw.Flush()
}

func fmtRatio(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	if v >= 10 {
		return fmt.Sprintf("%.1f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
