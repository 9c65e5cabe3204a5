package bench

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The CPython rows: cpython_bench.py (kept beside this file, embedded in the binary) runs
// the equivalent operations with CPython's own multiprocessing.managers and prints JSON.

//go:embed cpython_bench.py
var cpythonScript []byte

func pythonPath(cfg *Config) string {
	if cfg.Python != "" {
		return cfg.Python
	}
	p, err := exec.LookPath("python3")
	if err != nil {
		return ""
	}
	return p
}

func pythonVersion(py string) string {
	out, err := exec.Command(py, "-c", "import sys; print(sys.version.split()[0])").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

type pySeq struct {
	P50  float64   `json:"p50_us"`
	P99  float64   `json:"p99_us"`
	Rate float64   `json:"rate"`
	MS   float64   `json:"ms"`
	Q    []float64 `json:"q_us"`
}

type pyOut struct {
	Python   string  `json:"python"`
	Seq      pySeq   `json:"seq"`
	Procs1   float64 `json:"procs1"`
	Procs2   float64 `json:"procs2"`
	Procs4   float64 `json:"procs4"`
	CCR      pySeq   `json:"ccr"`
	Echo1k   pySeq   `json:"echo1k"`
	DictSet  pySeq   `json:"dict_set"`
	DictGet  pySeq   `json:"dict_get"`
	QueueInt pySeq   `json:"queue_int"`
	Queue1k  pySeq   `json:"queue_1k"`
	Pool     pySeq   `json:"pool"`
	Shm      pySeq   `json:"shm"`
}

var pyKeys = []struct{ key, label, unit string }{
	{"py.seq.p50", "CPython sequential add p50", "µs"},
	{"py.seq.p99", "CPython sequential add p99", "µs"},
	{"py.seq.rate", "CPython sequential add calls/s", "calls/s"},
	{"py.procs4", "CPython 4 client processes", "calls/s"},
	{"py.sat", "CPython saturated: best of 2 / 4 processes", "calls/s"},
	{"py.ccr", "CPython create + add + release", "ops/s"},
	{"py.ccr.p50", "CPython create + add + release p50", "µs"},
	{"py.echo1k.p50", "CPython echo 1 KiB bytes p50", "µs"},
	{"py.echo1k.rate", "CPython echo 1 KiB bytes calls/s", "calls/s"},
	{"py.dict.set", "CPython DictProxy d[k] = v", "ops/s"},
	{"py.dict.get", "CPython DictProxy d[k]", "ops/s"},
	{"py.queue.single", "CPython Queue put→get, int, 2 processes", "items/s"},
	{"py.queue.1k", "CPython Queue put→get, 1 KiB bytes, 2 processes", "items/s"},
	{"py.pool.map100k", "CPython Pool(2).map of 100,000 squares (median map)", "items/s"},
	{"py.pool.map100k.ms", "CPython Pool(2).map of 100,000 squares: median time", "ms"},
	{"py.shm.handoff", "CPython 64 MiB to another process through a fresh SharedMemoryManager block", "MiB/s"},
	{"py.shm.handoff.ms", "CPython 64 MiB through a SharedMemoryManager block: median time", "ms"},
}

func runCPython(ctx context.Context, cfg *Config, r *Report) error {
	py := pythonPath(cfg)
	if py == "" {
		for _, k := range pyKeys {
			r.mark("cpython", k.key, k.label, k.unit, "skipped (no python3)")
		}
		return nil
	}
	var args []string
	if cfg.Quick {
		args = append(args, "--quick")
	}
	o, err := runPyScript(ctx, py, args...)
	if err != nil {
		for _, k := range pyKeys {
			r.mark("cpython", k.key, k.label, k.unit, "error")
		}
		return err
	}
	vals := map[string]float64{
		"py.seq.p50": o.Seq.P50, "py.seq.p99": o.Seq.P99, "py.seq.rate": o.Seq.Rate,
		"py.procs4": o.Procs4, "py.sat": max(o.Procs2, o.Procs4),
		"py.ccr": o.CCR.Rate, "py.ccr.p50": o.CCR.P50,
		"py.echo1k.p50": o.Echo1k.P50, "py.echo1k.rate": o.Echo1k.Rate,
		"py.dict.set": o.DictSet.Rate, "py.dict.get": o.DictGet.Rate,
		"py.queue.single": o.QueueInt.Rate, "py.queue.1k": o.Queue1k.Rate,
		"py.pool.map100k": o.Pool.Rate, "py.pool.map100k.ms": o.Pool.MS,
		"py.shm.handoff": o.Shm.Rate, "py.shm.handoff.ms": o.Shm.MS,
	}
	// The process counts are for the plots' throughput by processes (the sweep).
	if o.Procs1 > 0 {
		r.set("cpython", "py.procs1", "CPython 1 client process", o.Procs1, "calls/s")
	}
	if o.Procs2 > 0 {
		r.set("cpython", "py.procs2", "CPython 2 client processes", o.Procs2, "calls/s")
	}
	r.AddDist("py.seq", "CPython sequential add", o.Seq.Q)
	for _, k := range pyKeys {
		m := r.set("cpython", k.key, k.label, vals[k.key], k.unit)
		if k.key == "py.sat" && cfg.Quick {
			m.Note = "4 processes only in -quick"
		}
	}
	return nil
}

// runPyScript runs cpython_bench.py with args and decodes what it prints.
func runPyScript(ctx context.Context, py string, args ...string) (*pyOut, error) {
	dir, err := os.MkdirTemp("", "mgrbench-py-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "cpython_bench.py")
	if err := os.WriteFile(script, cpythonScript, 0o600); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{script}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // kill the whole process group on timeout
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %v: %s", py, filepath.Base(script), err, lastLines(stderr.String(), 5))
	}
	var o pyOut
	if err := json.Unmarshal(stdout.Bytes(), &o); err != nil {
		return nil, fmt.Errorf("cpython_bench.py output: %w", err)
	}
	return &o, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func fdLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return rl.Cur
}
