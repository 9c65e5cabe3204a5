// Package examples_test runs every example as a user would: go build, run the binary,
// check what it printed. Each example is a real multi-process program (a manager child
// process, worker processes, or separate client programs).
package examples_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// runTimeout bounds one run of an example; a hang fails loudly instead of stalling.
const runTimeout = 45 * time.Second

// examples lists the example programs; TestMain builds them all with one go build.
var examples = []string{"cache", "counter", "nested", "pair", "pool", "prodcons", "remote", "workqueue"}

// binDir holds the built examples.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mgr-examples-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	binDir = dir
	// One go build for all of them: the packages they share are compiled once.
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, name := range examples {
		args = append(args, "./"+name)
	}
	code := 2
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go %s: %v\n%s", strings.Join(args, " "), err, out)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// build returns the path of the example's binary, built by TestMain as a user would
// build it (go build ./examples/<name>).
func build(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(binDir, name)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("example %s was not built: %v", name, err)
	}
	return bin
}

// run runs bin with args to completion and returns its stdout; it fails the test if the
// program fails or takes longer than runTimeout.
func run(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		t.Fatalf("%s %s did not finish in %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(bin), strings.Join(args, " "), runTimeout, out, stderr.String())
	}
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(bin), strings.Join(args, " "), err, out, stderr.String())
	}
	t.Logf("%s %s:\n%s", filepath.Base(bin), strings.Join(args, " "), out)
	return string(out)
}

// mustMatch returns the submatches of the first line of out matching re, failing if none.
func mustMatch(t *testing.T, out, re string) []string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output has no line matching %q:\n%s", re, out)
	}
	return m
}

// pids returns the distinct process IDs that lines matching re (with the PID as its
// first group) name.
func pids(out, re string) map[string]int {
	seen := map[string]int{}
	for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(out, -1) {
		seen[m[1]]++
	}
	return seen
}

func TestCounter(t *testing.T) {
	t.Parallel()
	out := run(t, build(t, "counter"), nil)
	mainPID := mustMatch(t, out, `(?m)^main \(pid (\d+)\): manager running as pid (\d+) on unix:`)
	mustMatch(t, out, `(?m)^Initial counter value: 0$`)
	// Three workers, each alternately incrementing and decrementing 5 times: +1 each.
	mustMatch(t, out, `(?m)^Final counter value: 3 \(3 workers × 5 operations\)$`)
	workers := pids(out, `(?m)^worker \d \(pid (\d+)\): (?:in|de)cremented to -?\d+$`)
	if len(workers) != 3 {
		t.Fatalf("want lines from 3 worker processes, got %v", workers)
	}
	for pid, n := range workers {
		if pid == mainPID[1] || pid == mainPID[2] {
			t.Fatalf("worker pid %s is the main or manager process", pid)
		}
		if n != 5 {
			t.Fatalf("worker pid %s printed %d operations, want 5", pid, n)
		}
	}
}

func TestPair(t *testing.T) {
	t.Parallel()
	out := run(t, build(t, "pair"), nil)
	mustMatch(t, out, `(?m)^main: Pair has methods GetX, GetY, SetX, SetY; the manager exposes \[GetX\]$`)
	mustMatch(t, out, `(?m)^worker \(pid \d+\): pair.GetX\(\) = 5$`)
	mustMatch(t, out, `(?m)^worker \(pid \d+\): forged call to a hidden method refused: mgr: unknown method`)
	mustMatch(t, out, `(?m)^main: done$`)
}

func TestCache(t *testing.T) {
	t.Parallel()
	out := run(t, build(t, "cache"), nil)
	final := mustMatch(t, out, `(?m)^Final cache contents \((\d+) keys\): map\[(.*)\]$`)
	cache := map[string]string{}
	for _, kv := range strings.Fields(final[2]) {
		k, v, _ := strings.Cut(kv, ":")
		cache[k] = v
	}
	if n, _ := strconv.Atoi(final[1]); n != len(cache) {
		t.Fatalf("%s keys announced, %d listed", final[1], len(cache))
	}
	// Four workers, five lookups each. Under the lock every key is computed exactly once
	// (its first lookup) and every hit sees the value that was computed.
	hits := regexp.MustCompile(`(?m)^Worker [0-3]: cache hit for (key_\d+) = (\d+)$`).FindAllStringSubmatch(out, -1)
	misses := regexp.MustCompile(`(?m)^Worker [0-3]: cache miss, computed (key_\d+) = (\d+)$`).FindAllStringSubmatch(out, -1)
	if len(hits)+len(misses) != 20 {
		t.Fatalf("%d hits + %d misses, want 20 lookups", len(hits), len(misses))
	}
	computed := map[string]bool{}
	for _, m := range misses {
		if computed[m[1]] {
			t.Fatalf("%s computed twice", m[1])
		}
		computed[m[1]] = true
	}
	for _, m := range append(hits, misses...) {
		if cache[m[1]] != m[2] {
			t.Fatalf("%s = %s in a worker, %s in the final cache", m[1], m[2], cache[m[1]])
		}
	}
	if len(computed) != len(cache) {
		t.Fatalf("%d keys computed, %d in the cache", len(computed), len(cache))
	}
}

func TestWorkqueue(t *testing.T) {
	t.Parallel()
	out := run(t, build(t, "workqueue"), nil)
	mustMatch(t, out, `(?m)^Distributor \(pid \d+\): queued 15 tasks and 3 stop signals$`)
	mustMatch(t, out, `(?m)^Processed 15 tasks:$`)
	results := regexp.MustCompile(`(?m)^Task (\d+): (\d+) (square|cube|double) = (\d+) \(worker ([0-2])\)$`).FindAllStringSubmatch(out, -1)
	if len(results) != 15 {
		t.Fatalf("%d result lines, want 15", len(results))
	}
	for i, r := range results {
		in, _ := strconv.Atoi(r[2])
		got, _ := strconv.Atoi(r[4])
		want := map[string]int{"square": in * in, "cube": in * in * in, "double": 2 * in}[r[3]]
		if r[1] != strconv.Itoa(i) || got != want {
			t.Fatalf("result line %d: %q", i, r[0])
		}
	}
	processed := regexp.MustCompile(`(?m)^Worker [0-2] \(pid \d+\): processed task \d+$`).FindAllString(out, -1)
	if len(processed) != 15 {
		t.Fatalf("%d tasks processed, want 15", len(processed))
	}
}

func TestProdcons(t *testing.T) {
	t.Parallel()
	out := run(t, build(t, "prodcons"), nil)
	if n := len(regexp.MustCompile(`(?m)^Produced: item_\d$`).FindAllString(out, -1)); n != 5 {
		t.Fatalf("%d items produced, want 5", n)
	}
	consumed := regexp.MustCompile(`(?m)^Consumer [01] consumed: (item_\d)$`).FindAllStringSubmatch(out, -1)
	seen := map[string]bool{}
	for _, c := range consumed {
		seen[c[1]] = true
	}
	if len(consumed) != 5 || len(seen) != 5 {
		t.Fatalf("consumed %v, want each of 5 items once", consumed)
	}
	stats := mustMatch(t, out, `(?m)^Final stats: map\[(?:consumer_0:(\d+) )?(?:consumer_1:(\d+) )?produced:5\]$`)
	c0, _ := strconv.Atoi(stats[1])
	c1, _ := strconv.Atoi(stats[2])
	if c0+c1 != 5 {
		t.Fatalf("consumers counted %d + %d, want 5", c0, c1)
	}
}

func TestNested(t *testing.T) {
	t.Parallel()
	out := run(t, build(t, "nested"), nil)
	mustMatch(t, out, `(?m)^a\[0\] after b.Append\("hello"\): \["hello"\] \(same object as b: true\)$`)
	for i := range 3 {
		mustMatch(t, out, fmt.Sprintf(`(?m)^worker %d: greeted 2 others$`, i))
		block := mustMatch(t, out, fmt.Sprintf(`(?m)^inbox of worker-%d: 2 messages\n  (.*)\n  (.*)$`, i))
		var from []string
		for _, msg := range block[1:] {
			m := regexp.MustCompile(`^hello from worker (\d) \(pid \d+\)$`).FindStringSubmatch(msg)
			if m == nil || m[1] == strconv.Itoa(i) {
				t.Fatalf("inbox of worker-%d holds %q", i, msg)
			}
			from = append(from, m[1])
		}
		if from[0] == from[1] {
			t.Fatalf("inbox of worker-%d: two messages from worker %s", i, from[0])
		}
	}
}

// TestRemote runs a standalone server and separate client programs, as seed 001 does by
// hand: the server on a free port, a putter and a getter connecting by address and
// authkey from the environment, then a client asking the server to stop.
func TestRemote(t *testing.T) {
	t.Parallel()
	bin := build(t, "remote")
	env := []string{"MGR_AUTHKEY=6d67722d6578616d706c652d6b6579", "MGR_ADDRESS="}

	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	srv := exec.CommandContext(ctx, bin, "server", "-addr", "tcp:127.0.0.1:0")
	srv.Env = append(os.Environ(), env...)
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	srv.Stderr = &stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	lines := newLineReader(stdout)
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	defer func() {
		srv.Process.Kill()
		<-exited
	}()

	m, err := lines.waitFor(ctx, `^level=INFO msg="mgr: manager serving" address=(tcp:127\.0\.0\.1:\d+)$`)
	if err != nil {
		t.Fatalf("%v\nserver stdout:\n%s\nstderr:\n%s", err, lines, stderr.String())
	}
	addr := m[1]

	// The getter starts first and waits in the server for messages that are not there yet.
	type result struct {
		out string
		err error
	}
	got := make(chan result, 1)
	go func() {
		cmd := exec.CommandContext(ctx, bin, "get", "-addr", addr, "-n", "2")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		got <- result{string(out), err}
	}()
	putOut := run(t, bin, env, "put", "-addr", addr, "hello", "world")
	if putOut != "put \"hello\"\nput \"world\"\n" {
		t.Fatalf("put printed %q", putOut)
	}
	var r result
	select {
	case r = <-got:
	case <-ctx.Done():
		t.Fatal("get did not finish")
	}
	if r.err != nil || r.out != "got \"hello\"\ngot \"world\"\n" {
		t.Fatalf("get: %v, printed %q", r.err, r.out)
	}

	// A wrong authkey is refused.
	bad := exec.CommandContext(ctx, bin, "put", "-addr", addr, "intruder")
	bad.Env = append(os.Environ(), "MGR_AUTHKEY=00112233")
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "auth") {
		t.Fatalf("wrong authkey: %v, %s", err, out)
	}

	run(t, bin, env, "stop", "-addr", addr)
	select {
	case err := <-exited:
		exited <- err // for the deferred cleanup
		if err != nil {
			t.Fatalf("server: %v\nstderr:\n%s", err, stderr.String())
		}
	case <-ctx.Done():
		t.Fatal("server did not stop")
	}
	if _, err := lines.waitFor(ctx, `^server: stopped$`); err != nil {
		t.Fatalf("%v\nserver stdout:\n%s", err, lines)
	}
}

// lineReader collects a running program's stdout line by line so a test can wait for a
// line without sleeping.
type lineReader struct {
	mu    sync.Mutex
	lines []string
	more  chan struct{} // closed and replaced whenever a line arrives or output ends
	ended bool
}

func newLineReader(r io.Reader) *lineReader {
	lr := &lineReader{more: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lr.mu.Lock()
			lr.lines = append(lr.lines, sc.Text())
			close(lr.more)
			lr.more = make(chan struct{})
			lr.mu.Unlock()
		}
		lr.mu.Lock()
		lr.ended = true
		close(lr.more)
		lr.mu.Unlock()
	}()
	return lr
}

// waitFor returns the submatches of the first line matching re, waiting until ctx ends.
func (lr *lineReader) waitFor(ctx context.Context, re string) ([]string, error) {
	rx := regexp.MustCompile(re)
	for i := 0; ; {
		lr.mu.Lock()
		for ; i < len(lr.lines); i++ {
			if m := rx.FindStringSubmatch(lr.lines[i]); m != nil {
				lr.mu.Unlock()
				return m, nil
			}
		}
		ended, more := lr.ended, lr.more
		lr.mu.Unlock()
		if ended {
			return nil, fmt.Errorf("output ended without a line matching %q", re)
		}
		select {
		case <-more:
		case <-ctx.Done():
			return nil, fmt.Errorf("no line matching %q: %w", re, ctx.Err())
		}
	}
}

func (lr *lineReader) String() string {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return strings.Join(lr.lines, "\n")
}

func TestPool(t *testing.T) {
	out := run(t, build(t, "pool"), nil)
	for _, re := range []string{
		`(?m)^Map: 1000 squares, sum 332833500$`,
		`(?m)^Imap: 0 1 4 9 16$`,
		`(?m)^ApplyAsync: 12² = 144$`,
		`(?m)^Another process: Map of 100 cubes through the proxy, sum 24502500$`,
		`(?m)^Crash: item 3 failed, ErrWorkerDied true; the others gave \[0 1 2 0 4 5\]$`,
		`(?m)^After the crash: 7² = 49, [1-9]\d* worker\(s\) replaced$`,
		`(?m)^Closed: every worker exited$`,
	} {
		mustMatch(t, out, re)
	}
}
