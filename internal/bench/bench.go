// Package bench is mgrbench: it measures mgr against its anchors — a raw Unix-socket
// ping-pong (the floor), Go's net/rpc and CPython's multiprocessing.managers, Pool and
// SharedMemoryManager — with real processes, in one run, and reports every figure beside
// its anchors as a ratio. Anchors with dependencies the root module must not have
// (gRPC-go, Redis) come from cmd/mgrbench's own module through the API in ext.go.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Config says what to run.
type Config struct {
	// Quick runs fewer iterations and shorter windows (under a minute in all).
	Quick bool
	// JSON writes one JSON object instead of the table.
	JSON bool
	// Only lists sections to run (seq, rpc, mgr, sync, micro, pool, shm, cpython,
	// pyfront, scale, the names of Sections, and sweep); empty runs all but sweep (which
	// runs with Plot). seq holds the floor and the sequential net/rpc and mgr rows,
	// interleaved. Rows whose anchors were not run show no ratio.
	Only []string
	// CPUProfile, if set, is a file the manager child writes a CPU profile of the mgr
	// rows to.
	CPUProfile string
	// Python is the interpreter for the CPython rows; "" looks for python3 on PATH.
	Python string
	// Log receives progress lines (nil: none).
	Log io.Writer
	// Plot, if set, is a directory Run writes SVG charts of the run to (plot.go); it
	// also runs the sweep section (throughput by goroutines and by processes).
	Plot string

	// Rows from outside this module (cmd/mgrbench's: Redis and gRPC; see ext.go).
	// Seq contenders are measured interleaved with the sequential rows (section seq);
	// Par contenders join the goroutine sweep; Sections run after the built-in ones.
	Seq      []Contender
	Par      []Contender
	Sections []Section
}

func (c *Config) runs(section string) bool {
	return len(c.Only) == 0 || slices.Contains(c.Only, section)
}

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, "mgrbench: "+format+"\n", args...)
	}
}

// pick returns quick in quick mode and full otherwise.
func pick[T any](c *Config, quick, full T) T {
	if c.Quick {
		return quick
	}
	return full
}

// Metric is one measured figure with its anchors (figures of other rows measured in the
// same run) and its ratio to each: Ratios[k] = Value / Anchors[k].
type Metric struct {
	Key     string             `json:"key"`
	Section string             `json:"section"`
	Label   string             `json:"label"`
	Value   *float64           `json:"value"`
	Unit    string             `json:"unit"`
	Status  string             `json:"status,omitempty"` // "skipped", "pending" or "error: …" when Value is nil
	Anchors map[string]float64 `json:"anchors,omitempty"`
	Ratios  map[string]float64 `json:"ratios,omitempty"`
	Note    string             `json:"note,omitempty"`

	anchorKeys []string
}

// Target is one of issue 6's targets, checked against this run.
type Target struct {
	Name   string  `json:"name"`
	Metric string  `json:"metric"`
	Anchor string  `json:"anchor"`
	Op     string  `json:"op"`     // "<=" or ">="
	Factor float64 `json:"factor"` // Metric Op Factor × Anchor
	Ratio  float64 `json:"ratio,omitempty"`
	// Ceiling, if set, is a metric that bounds Metric on this machine: Ceiling / Anchor
	// (CeilingRatio) is the most any implementation could reach here. The floor's round
	// trips/s bound every row that makes one round trip per operation.
	Ceiling      string  `json:"ceiling,omitempty"`
	CeilingRatio float64 `json:"ceiling_ratio,omitempty"`
	Status       string  `json:"status"` // "met", "missed", "n/a"
}

// Report is the whole run.
type Report struct {
	Machine  Machine   `json:"machine"`
	Command  string    `json:"command"`
	Quick    bool      `json:"quick"`
	Started  time.Time `json:"started"`
	Seconds  float64   `json:"seconds"`
	Metrics  []*Metric `json:"metrics"`
	Targets  []Target  `json:"targets"`
	Warnings []string  `json:"warnings,omitempty"`
	// Dists are latency distributions and Series throughput curves, for the plots.
	Dists  []Dist   `json:"distributions,omitempty"`
	Series []Series `json:"series,omitempty"`

	byKey map[string]*Metric
}

// Dist is the latency distribution of one sequential row: Q[i] is its i/1000 quantile
// in µs.
type Dist struct {
	Key   string    `json:"key"`
	Label string    `json:"label"`
	Q     []float64 `json:"q_us"`
}

// Series is one throughput curve: Y (operations/s) at each X (goroutines or processes).
type Series struct {
	Chart string    `json:"chart"` // "goroutines" or "processes"
	Name  string    `json:"name"`
	X     []float64 `json:"x"`
	Y     []float64 `json:"y"`
}

// Machine describes where the run happened.
type Machine struct {
	GOOS, GOARCH string
	CPUs         int
	CPU          string `json:",omitempty"`
	Go           string
	Python       string `json:",omitempty"`
	Kernel       string `json:",omitempty"`
	FDLimit      uint64 `json:",omitempty"`
}

func (r *Report) add(m *Metric) *Metric {
	if r.byKey == nil {
		r.byKey = map[string]*Metric{}
	}
	if old := r.byKey[m.Key]; old != nil {
		*old = *m
		return old
	}
	r.byKey[m.Key] = m
	r.Metrics = append(r.Metrics, m)
	return m
}

// set records a measured value.
func (r *Report) set(section, key, label string, v float64, unit string, anchors ...string) *Metric {
	return r.add(&Metric{Key: key, Section: section, Label: label, Value: &v, Unit: unit, anchorKeys: anchors})
}

// mark records a row that has no value (skipped, pending, failed).
func (r *Report) mark(section, key, label, unit, status string, anchors ...string) *Metric {
	return r.add(&Metric{Key: key, Section: section, Label: label, Unit: unit, Status: status, anchorKeys: anchors})
}

func (r *Report) value(key string) (float64, bool) {
	m := r.byKey[key]
	if m == nil || m.Value == nil {
		return 0, false
	}
	return *m.Value, true
}

func (r *Report) finish() {
	for _, m := range r.Metrics {
		if m.Value == nil {
			continue
		}
		for _, k := range m.anchorKeys {
			a, ok := r.value(k)
			if !ok || a == 0 {
				continue
			}
			if m.Anchors == nil {
				m.Anchors, m.Ratios = map[string]float64{}, map[string]float64{}
			}
			m.Anchors[k] = a
			m.Ratios[k] = round3(*m.Value / a)
		}
	}
	for _, t := range targets {
		v, ok1 := r.value(t.Metric)
		a, ok2 := r.value(t.Anchor)
		if t.Anchor == "" {
			a, ok2 = 1, true
		}
		if !ok1 || !ok2 || a == 0 {
			t.Status = "n/a"
		} else {
			t.Ratio = round3(v / a)
			met := t.Ratio <= t.Factor
			if t.Op == ">=" {
				met = t.Ratio >= t.Factor
			}
			t.Status = map[bool]string{true: "met", false: "missed"}[met]
			if c, ok := r.value(t.Ceiling); ok && t.Ceiling != "" {
				t.CeilingRatio = round3(c / a)
			}
		}
		r.Targets = append(r.Targets, t)
	}
}

func round3(v float64) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	p := math.Pow(10, 3-math.Ceil(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}

// targets are issues 6's and 17's, as ratios of two metrics of the same run.
var targets = []Target{
	{Name: "sequential p50 ≤ net/rpc p50", Metric: "mgr.seq.p50", Anchor: "rpc.seq.p50", Op: "<=", Factor: 1},
	{Name: "sequential p50 ≤ 1.5× floor p50", Metric: "mgr.seq.p50", Anchor: "floor.p50", Op: "<=", Factor: 1.5},
	{Name: "64 goroutines ≥ 1.5× net/rpc", Metric: "mgr.par64", Anchor: "rpc.par64", Op: ">=", Factor: 1.5},
	{Name: "sequential calls/s ≥ 5× CPython", Metric: "mgr.seq.rate", Anchor: "py.seq.rate", Op: ">=", Factor: 5, Ceiling: "floor.rate"},
	{Name: "saturated calls/s ≥ 8× CPython", Metric: "mgr.sat", Anchor: "py.sat", Op: ">=", Factor: 8},
	{Name: "Queue put→get ≥ 10× CPython", Metric: "mgr.queue.single", Anchor: "py.queue.single", Op: ">=", Factor: 10, Ceiling: "floor.rate"},
	{Name: "create+call+release ≥ 20× CPython", Metric: "mgr.ccr", Anchor: "py.ccr", Op: ">=", Factor: 20},
	{Name: "create+call+release p50 ≤ 1.5× sequential p50 (issue 17)", Metric: "mgr.ccr.p50", Anchor: "mgr.seq.p50", Op: "<=", Factor: 1.5},
	{Name: "dispatch allocs beyond args = 0", Metric: "micro.dispatch.allocs", Op: "<=", Factor: 0},
	{Name: "≤ 200 B manager overhead per object at 1M", Metric: "scale.mem.1m.overhead", Op: "<=", Factor: 200},
	{Name: "Pool.Map 100k over 2 workers ≥ CPython Pool(2).map", Metric: "pool.map100k", Anchor: "py.pool.map100k", Op: ">=", Factor: 1},
	{Name: "64 MiB through a fresh shared block ≥ 10× a []byte call", Metric: "shm.handoff", Anchor: "shm.bytes", Op: ">=", Factor: 10},
	{Name: "64 MiB through a block mapped once ≥ 10× a []byte call", Metric: "shm.handoff.reuse", Anchor: "shm.bytes", Op: ">=", Factor: 10},
	{Name: "Dict Set ≥ Redis HSET (sequential)", Metric: "redis.mgrset.rate", Anchor: "redis.hset.rate", Op: ">=", Factor: 1},
	{Name: "Dict Get ≥ Redis HGET (sequential)", Metric: "redis.mgrget.rate", Anchor: "redis.hget.rate", Op: ">=", Factor: 1},
	{Name: "Queue put→get ≥ Redis LPUSH→BRPOP", Metric: "redis.mgrqueue.rate", Anchor: "redis.queue.rate", Op: ">=", Factor: 1},
	{Name: "sequential p50 ≤ gRPC-go p50", Metric: "mgr.seq.p50", Anchor: "grpc.seq.p50", Op: "<=", Factor: 1},
	{Name: "64 goroutines ≥ gRPC-go", Metric: "mgr.par64", Anchor: "grpc.par64", Op: ">=", Factor: 1},
	// Issue 16: an etcd-backed manager's call against the etcd client's, on etcd as it
	// ships (fsync) and on etcd without fsync (cmd/mgrbench/internal/anchors/etcd.go).
	{Name: "etcd Lock Acquire+Release ≤ 1.3× etcd client (fsync)", Metric: "etcd.fsync.lock.p50", Anchor: "etcd.fsync.lockdirect.p50", Op: "<=", Factor: 1.3},
	{Name: "etcd Dict Set+Get ≤ 1.3× etcd client (fsync)", Metric: "etcd.fsync.dict.p50", Anchor: "etcd.fsync.dictdirect.p50", Op: "<=", Factor: 1.3},
	{Name: "etcd Queue put→get ≤ 1.3× etcd client (fsync)", Metric: "etcd.fsync.queue.p50", Anchor: "etcd.fsync.queuedirect.p50", Op: "<=", Factor: 1.3},
	{Name: "etcd Lock Acquire+Release ≤ 1.3× etcd client (no fsync)", Metric: "etcd.lock.p50", Anchor: "etcd.lockdirect.p50", Op: "<=", Factor: 1.3},
	{Name: "etcd Dict Set+Get ≤ 1.3× etcd client (no fsync)", Metric: "etcd.dict.p50", Anchor: "etcd.dictdirect.p50", Op: "<=", Factor: 1.3},
	{Name: "etcd Queue put→get ≤ 1.3× etcd client (no fsync)", Metric: "etcd.queue.p50", Anchor: "etcd.queuedirect.p50", Op: "<=", Factor: 1.3},
}

// Run measures and writes the report to w.
func Run(ctx context.Context, cfg Config, w io.Writer) error {
	r := &Report{Command: strings.Join(os.Args, " "), Quick: cfg.Quick, Started: time.Now()}
	r.Machine = machine(&cfg)
	start := time.Now()
	type section struct {
		name string
		run  func(context.Context, *Config, *Report) error
	}
	sections := []section{
		{"seq", runSeq},
		{"rpc", runRPC},
		{"mgr", runMgr},
		{"sync", runSync},
		{"micro", runMicro},
		{"pool", runPool},
		{"shm", runShm},
		{"cpython", runCPython},
		{"pyfront", runPyFront},
		{"scale", runScale},
	}
	for _, x := range cfg.Sections {
		sections = append(sections, section{x.Name, x.Run})
	}
	sections = append(sections, section{"sweep", runSweep})
	for _, s := range sections {
		if !cfg.runs(s.name) || s.name == "sweep" && cfg.Plot == "" && !slices.Contains(cfg.Only, "sweep") {
			continue
		}
		t0 := time.Now()
		cfg.logf("%s…", s.name)
		if err := s.run(ctx, &cfg, r); err != nil {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: %v", s.name, err))
			cfg.logf("%s failed: %v", s.name, err)
		}
		cfg.logf("%s done in %.1fs", s.name, time.Since(t0).Seconds())
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	r.Seconds = round3(time.Since(start).Seconds())
	r.finish()
	if cfg.Plot != "" {
		files, err := writePlots(cfg.Plot, r)
		if err != nil {
			return fmt.Errorf("plots: %w", err)
		}
		cfg.logf("plots: %s", strings.Join(files, ", "))
	}
	if cfg.JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	writeTable(w, r)
	return nil
}

func machine(cfg *Config) Machine {
	m := Machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.FDLimit = fdLimit()
	if py := pythonPath(cfg); py != "" {
		m.Python = pythonVersion(py)
	}
	return m
}
