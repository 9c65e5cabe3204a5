package bench

import (
	"context"
	"errors"
	"os/exec"
	"runtime"
	"testing"
)

// quick is the configuration the row tests run with.
func quick() *Config { return &Config{Quick: true} }

func wantValues(t *testing.T, r *Report, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if v, ok := r.value(k); !ok || v <= 0 {
			m := r.byKey[k]
			status := "missing"
			if m != nil {
				status = m.Status
			}
			t.Errorf("%s: no positive value (%v, %s)", k, v, status)
		}
	}
}

func TestInterleave(t *testing.T) {
	var order []int
	ops := make([]func() error, 3)
	for i := range ops {
		ops[i] = func() error { order = append(order, i); return nil }
	}
	lats, err := interleave(context.Background(), 2, 1200, seqBlock, ops)
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]int, 3)
	for _, i := range order {
		counts[i]++
	}
	for i, l := range lats {
		if len(l) != 1200 || counts[i] != 1202 {
			t.Errorf("op %d: %d timings, %d calls; want 1200 and 1202", i, len(l), counts[i])
		}
	}
	// Round 1 starts with op 1: the order rotates.
	if first := order[3*2+3*seqBlock]; first != 1 {
		t.Errorf("round 1 started with op %d", first)
	}
	boom := errors.New("boom")
	if _, err := interleave(context.Background(), 0, 10, seqBlock, []func() error{func() error { return boom }}); !errors.Is(err, boom) {
		t.Errorf("a failing op gave %v", err)
	}
}

// TestInterleaveAlternatesFewCalls: the anchor rows time a few hundred calls of each
// operation, and those must still alternate in short blocks, not run one operation's
// calls all before the next's.
func TestInterleaveAlternatesFewCalls(t *testing.T) {
	var order []int
	ops := make([]func() error, 2)
	for i := range ops {
		ops[i] = func() error { order = append(order, i); return nil }
	}
	if _, err := Interleave(context.Background(), 0, 300, ops...); err != nil {
		t.Fatal(err)
	}
	switches, run, longest := 0, 1, 1
	for k := 1; k < len(order); k++ {
		if order[k] != order[k-1] {
			switches, run = switches+1, 0
		}
		run++
		longest = max(longest, run)
	}
	// A round of both lasts milliseconds for calls of 30 µs to 1 ms: 50 calls at most.
	if switches < 12 || longest > 50 {
		t.Errorf("600 calls switched operation %d times, longest run %d calls; want >= 12 switches, runs <= 50", switches, longest)
	}
}

// TestSeqWithContenders runs the interleaved sequential rows with a contender from
// outside (as cmd/mgrbench adds gRPC) and one that cannot start.
func TestSeqWithContenders(t *testing.T) {
	cfg := quick()
	calls := 0
	cfg.Seq = []Contender{
		{Key: "extra.seq", Label: "a local no-op", Start: func(context.Context) (func() error, func(), error) {
			return func() error { calls++; return nil }, func() {}, nil
		}},
		{Key: "broken.seq", Label: "a server that is not there", Start: func(context.Context) (func() error, func(), error) {
			return nil, nil, errors.New("not installed")
		}},
	}
	r := &Report{}
	if err := runSeq(context.Background(), cfg, r); err != nil {
		t.Fatal(err)
	}
	wantValues(t, r, "floor.p50", "rpc.seq.p50", "mgr.seq.p50", "mgr.seq.rate", "extra.seq.rate")
	if calls < 20000 {
		t.Errorf("the contender ran %d times", calls)
	}
	if m := r.byKey["broken.seq.p50"]; m == nil || m.Value != nil || m.Status == "" {
		t.Errorf("the contender that could not start: %+v", m)
	}
	if len(r.Dists) != 4 {
		t.Errorf("%d distributions, want 4 (floor, rpc, mgr, extra)", len(r.Dists))
	}
}

// TestPoolAndShmRows runs the pool and shared-memory rows once, quick: real worker and
// consumer processes.
func TestPoolAndShmRows(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a pool and hands 64 MiB around several times")
	}
	r := &Report{}
	if err := runPool(context.Background(), quick(), r); err != nil {
		t.Fatal(err)
	}
	wantValues(t, r, "pool.map100k", "pool.map100k.ms")
	if runtime.GOOS != "linux" {
		t.Skip("shm blocks need Linux")
	}
	if err := runShm(context.Background(), quick(), r); err != nil {
		t.Fatal(err)
	}
	wantValues(t, r, "shm.handoff", "shm.handoff.reuse", "shm.bytes", "shm.bytes.ms")
}

// TestCPythonPoolAndShm runs the CPython counterparts of the pool and shm rows.
func TestCPythonPoolAndShm(t *testing.T) {
	if testing.Short() {
		t.Skip("forks CPython pools")
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 on PATH: the CPython rows are skipped the same way")
	}
	o, err := runPyScript(context.Background(), py, "--quick", "--only", "pool,shm")
	if err != nil {
		t.Fatal(err)
	}
	if o.Pool.Rate <= 0 || o.Pool.MS <= 0 || o.Shm.Rate <= 0 || o.Shm.MS <= 0 {
		t.Errorf("pool %+v, shm %+v", o.Pool, o.Shm)
	}
}
