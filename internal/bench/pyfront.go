package bench

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	_ "github.com/mgr-go/mgr/runtime/syncmgr/pysync" // the stock typeids for CPython clients
)

// The pyfront rows: the same CPython client script (pyfront_bench.py) against the Go
// manager's CPython front-end and against CPython's own SyncManager, in one run.

//go:embed pyfront_bench.py
var pyfrontScript []byte

type pyfrontOut struct {
	Seq    pySeq   `json:"seq"`
	Procs4 float64 `json:"procs4"`
	CCRTCP float64 `json:"ccr_tcp_ms"`
}

var pyfrontKeys = []struct{ key, label, unit string }{
	{"pyfront.go.seq.p50", "CPython client → Go manager: sequential get p50", "µs"},
	{"pyfront.py.seq.p50", "CPython client → CPython manager: sequential get p50", "µs"},
	{"pyfront.go.procs4", "4 CPython client processes → Go manager", "calls/s"},
	{"pyfront.py.procs4", "4 CPython client processes → CPython manager", "calls/s"},
	{"pyfront.go.ccr.tcp", "CPython client → Go manager: create + call + release over TCP, p50", "ms"},
	{"pyfront.py.ccr.tcp", "CPython client → CPython manager: create + call + release over TCP, p50", "ms"},
}

func init() {
	targets = append(targets,
		Target{Name: "CPython clients: Go manager p50 ≤ CPython manager p50", Metric: "pyfront.go.seq.p50", Anchor: "pyfront.py.seq.p50", Op: "<=", Factor: 1},
		Target{Name: "CPython clients: Go manager saturated ≥ 1.5× CPython manager", Metric: "pyfront.go.procs4", Anchor: "pyfront.py.procs4", Op: ">=", Factor: 1.5},
	)
}

func runPyFront(ctx context.Context, cfg *Config, r *Report) error {
	py := pythonPath(cfg)
	if py == "" {
		for _, k := range pyfrontKeys {
			r.mark("pyfront", k.key, k.label, k.unit, "skipped (no python3)")
		}
		return nil
	}
	dir, err := os.MkdirTemp("", "mgrbench-pyfront-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "pyfront_bench.py")
	if err := os.WriteFile(script, pyfrontScript, 0o600); err != nil {
		return err
	}

	key := []byte("mgrbench pyfront key")
	srv, err := mgr.NewServer(mgr.Options{AuthKey: key})
	if err != nil {
		return err
	}
	defer srv.Shutdown(context.Background())
	sock := filepath.Join(dir, "go.sock")
	ln, err := mgr.Listen(mgr.Address{Network: "unix", Addr: sock}, nil)
	if err != nil {
		return err
	}
	go srv.ServePython(ln)
	tcp, err := mgr.Listen(mgr.Address{Network: "tcp", Addr: "127.0.0.1:0"}, nil)
	if err != nil {
		return err
	}
	go srv.ServePython(tcp)

	run := func(args ...string) ([]byte, error) {
		args = append([]string{script}, args...)
		if cfg.Quick {
			args = append(args, "--quick")
		}
		ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, py, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("%s: %v: %s", filepath.Base(script), err, lastLines(stderr.String(), 5))
		}
		return stdout.Bytes(), nil
	}
	// One run, both managers: the sequential rows interleaved (pyfront_bench.py).
	var both struct {
		Go pyfrontOut `json:"go"`
		Py pyfrontOut `json:"py"`
	}
	out, err := run("--address", sock, "--tcp", tcp.Addr().String(), "--key", hex.EncodeToString(key))
	if err == nil {
		err = json.Unmarshal(out, &both)
	}
	if err != nil {
		for _, k := range pyfrontKeys {
			r.mark("pyfront", k.key, k.label, k.unit, "error")
		}
		return err
	}
	goOut, pyOut := both.Go, both.Py
	r.set("pyfront", "pyfront.go.seq.p50", pyfrontKeys[0].label, goOut.Seq.P50, "µs", "pyfront.py.seq.p50")
	r.set("pyfront", "pyfront.py.seq.p50", pyfrontKeys[1].label, pyOut.Seq.P50, "µs")
	r.set("pyfront", "pyfront.go.procs4", pyfrontKeys[2].label, goOut.Procs4, "calls/s", "pyfront.py.procs4")
	r.set("pyfront", "pyfront.py.procs4", pyfrontKeys[3].label, pyOut.Procs4, "calls/s")
	r.set("pyfront", "pyfront.go.ccr.tcp", pyfrontKeys[4].label, goOut.CCRTCP, "ms", "pyfront.py.ccr.tcp")
	r.set("pyfront", "pyfront.py.ccr.tcp", pyfrontKeys[5].label, pyOut.CCRTCP, "ms")
	return nil
}
