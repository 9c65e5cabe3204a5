package nested

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// modules are the nested modules, relative to the repository root.
var modules = []string{"runtime/etcd", "runtime/otel", "cmd/mgrbench"}

// TestNestedModules runs each nested module's tests, with the race detector when this
// test has it, and fails with their output when they fail. -short skips it (the nested
// suites take about a minute each).
func TestNestedModules(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the nested modules' tests are not run")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command on PATH to run the nested modules' tests: %v", err)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range modules {
		t.Run(dir, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
			defer cancel()
			args := []string{"test", "-timeout", "14m"}
			if raceEnabled {
				args = append(args, "-race")
			}
			args = append(args, "./...")
			cmd := exec.CommandContext(ctx, goCmd, args...)
			cmd.Dir = filepath.Join(root, dir)
			cmd.Env = os.Environ()
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go %v in %s: %v\n%s", args, dir, err, out)
			}
			t.Logf("go %v in %s:\n%s", args, dir, out)
		})
	}
}
