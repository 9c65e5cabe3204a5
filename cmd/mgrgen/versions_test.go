package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestVersions builds two programs from two versions of one exposed type, example/Counter
// (testdata/versions/a and b: methods added, removed, reordered, one signature changed),
// runs each as a standalone manager with the other as its client, and checks the outcome
// of every call: a method both versions have runs, whatever its position in either
// table; a method the manager lacks is ErrUnknownMethod naming it; a changed signature is
// ErrSignature naming both; never is another method run in its place. Calls by name
// (BeginMethod) go the same way, those of a type the client has not registered too.
func TestVersions(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds two programs in a fresh module with the go command")
	}
	ctx := testContext(t)
	dir := newModule(ctx, t, "example.com/versions")
	files := map[string]string{}
	for _, v := range []string{"a", "b"} {
		files[v+"/main.go"] = readTestdata(t, "main.go")
		files[v+"/counter.go"] = readTestdata(t, v, "counter.go")
	}
	writeFiles(t, dir, files)
	mustGo(ctx, t, dir, "mod", "tidy")
	mustGo(ctx, t, dir, "generate", "./...")
	progA, progB := filepath.Join(dir, "prog-a"), filepath.Join(dir, "prog-b")
	mustGo(ctx, t, dir, "build", "-o", progA, "./a")
	mustGo(ctx, t, dir, "build", "-o", progB, "./b")

	t.Run("A serves B", func(t *testing.T) {
		// The manager's table: Increment, Reset, Scale, Value; B's: Decrement, Increment,
		// Scale, Twice, Value. Called by index as before, B's Decrement would run A's
		// Increment and its Twice A's Value.
		unknown := func(m string) []string {
			return []string{"ErrUnknownMethod", "example/Counter." + m + ": the manager's example/Counter has no method " + m, "Clone, Increment, Reset, Scale, Value"}
		}
		scale := []string{"ErrSignature", "example/Counter.Scale: the manager has func(float64) float64, this program func(int) int"}
		checkCalls(t, runCalls(ctx, t, progA, progB), []outcome{
			{"Increment", ok("1")},
			{"Increment", ok("2")},
			{"Increment", ok("3")},
			{"Value", ok("3")},
			{"Decrement", unknown("Decrement")},
			{"Twice", unknown("Twice")},
			{"Scale", scale},
			{"Scale", scale},
			{"Value", ok("3")},
			{"dynamic Value", ok("3")},
			{"dynamic Decrement", unknown("Decrement")},
			{"dynamic Scale", scale},
			// B's Counter has no Reset, but the manager's has: a call by name runs it.
			{"dynamic Reset", ok("<nil>")},
			{"Value", ok("10")},
			{"second Increment", ok("1")},
			{"second Decrement", unknown("Decrement")},
			{"Note Set", ok("<nil>")},
			{"Note Get", ok("hello")},
			{"Note Clear", []string{"ErrUnknownMethod", "example/Note has no exposed method Clear (it has Get, Set)"}},
			{"Clone", ok("10")},
		})
	})

	t.Run("B serves A", func(t *testing.T) {
		// Called by index as before, A's Increment would run B's Decrement and its Value
		// B's Twice.
		unknown := func(m string) []string {
			return []string{"ErrUnknownMethod", "example/Counter." + m + ": the manager's example/Counter has no method " + m, "Clone, Decrement, Increment, Scale, Twice, Value"}
		}
		scale := []string{"ErrSignature", "example/Counter.Scale: the manager has func(int) int, this program func(float64) float64"}
		checkCalls(t, runCalls(ctx, t, progB, progA), []outcome{
			{"Increment", ok("1")},
			{"Increment", ok("2")},
			{"Increment", ok("3")},
			{"Value", ok("3")},
			{"Reset", unknown("Reset")},
			{"Scale", scale},
			{"Value", ok("3")},
			{"dynamic Value", ok("3")},
			{"dynamic Reset", unknown("Reset")},
			{"dynamic Twice", ok("6")}, // A's Counter has no Twice; the manager's has
			{"Value", ok("3")},
			{"Clone", ok("3")},
		})
	})
}

// readTestdata returns a file of testdata/versions.
func readTestdata(t *testing.T, path ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"testdata", "versions"}, path...)...))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// outcome is a call's expected line, "what: ..."; want holds what follows "what: ": the
// error's class first, then text its message must contain.
type outcome struct {
	what string
	want []string
}

// ok is the outcome of a call that returned result.
func ok(result string) []string { return []string{"ok " + result} }

// checkCalls compares the lines the client printed with want, one by one.
func checkCalls(t *testing.T, out string, want []outcome) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for i, w := range want {
		if i >= len(lines) {
			t.Errorf("line %d: missing, want %s: %s", i+1, w.what, strings.Join(w.want, " … "))
			continue
		}
		what, got, _ := strings.Cut(lines[i], ": ")
		if what != w.what {
			t.Errorf("line %d: %q, want a line about %s", i+1, lines[i], w.what)
			continue
		}
		class, msg, _ := strings.Cut(got, ": ")
		switch {
		case len(w.want) == 1 && got != w.want[0]:
			t.Errorf("%s (line %d): %s, want %s", w.what, i+1, got, w.want[0])
		case len(w.want) > 1 && class != w.want[0]:
			t.Errorf("%s (line %d): %s, want %s", w.what, i+1, got, w.want[0])
		default:
			for _, s := range w.want[1:] {
				if !strings.Contains(msg, s) {
					t.Errorf("%s (line %d): %s\nwhose message does not say %q", w.what, i+1, got, s)
				}
			}
		}
	}
	if len(lines) > len(want) {
		t.Errorf("more lines than calls:\n%s", strings.Join(lines[len(want):], "\n"))
	}
}

// runCalls starts manager as a standalone manager on a Unix socket, runs client's calls
// against it, stops the manager with SIGTERM and returns what the client printed.
func runCalls(ctx context.Context, t *testing.T, manager, client string) string {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	env := append(cleanEnv(), "MGR_AUTHKEY="+hex.EncodeToString(key))
	addr := "unix:" + filepath.Join(t.TempDir(), "m.sock")

	srv := exec.CommandContext(ctx, manager, "serve", addr)
	srv.Env = env
	srv.Stderr = os.Stderr
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	// The manager logs "mgr: manager serving address=ADDR" once it listens.
	var served strings.Builder
	ready, rest := make(chan bool, 1), make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			served.WriteString(sc.Text() + "\n")
			if !signalled && strings.HasPrefix(sc.Text(), "mgr: manager serving ") {
				ready <- true
				signalled = true
			}
		}
		io.Copy(io.Discard, stdout)
		if !signalled {
			ready <- false
		}
		rest <- served.String()
	}()
	stopped := false
	stop := func() string {
		if stopped {
			return ""
		}
		stopped = true
		srv.Process.Signal(syscall.SIGTERM)
		out := <-rest
		if err := srv.Wait(); err != nil {
			t.Errorf("manager %s: %v; printed\n%s", filepath.Base(manager), err, out)
		}
		return out
	}
	defer stop()
	select {
	case up := <-ready:
		if !up {
			t.Fatalf("manager %s exited before it listened: %s", filepath.Base(manager), stop())
		}
	case <-time.After(time.Minute):
		t.Fatalf("manager %s: not listening after a minute", filepath.Base(manager))
	}

	cmd := exec.CommandContext(ctx, client, "call", addr)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("client %s: %v; printed\n%s%s", filepath.Base(client), err, out, stderr.String())
	}
	t.Logf("%s against a manager %s:\n%s", filepath.Base(client), filepath.Base(manager), out)
	if served := stop(); !strings.HasSuffix(served, "stopped\n") {
		t.Errorf("manager %s did not stop cleanly; printed\n%s", filepath.Base(manager), served)
	}
	return string(out)
}
