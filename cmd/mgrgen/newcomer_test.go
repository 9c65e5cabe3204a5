package main

// End-to-end tests of what a newcomer does: a fresh module of their own, mgr required
// through a replace directive pointing at this checkout, mgrgen recorded as a tool, and
// the go command itself (go mod tidy, go generate, go build) run as the README says.
// They use the go command's usual module cache and proxy settings, so nothing already
// downloaded is fetched again.

import (
	"bytes"
	"context"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkout is the root of this repository, which the test modules' replace directive
// points at.
func checkout(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("no checkout at %s: %v", dir, err)
	}
	return dir
}

// goTool runs the go command in dir and returns its combined output. The environment is
// the test's, but for module settings a user's shell would not have: -mod=readonly from
// CI's GOFLAGS would refuse go.mod updates, and a go.work above the temporary directory
// must not apply.
func goTool(ctx context.Context, t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// cleanEnv is the environment without settings that would change what the go command or
// an mgr program does.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GOFLAGS=") || strings.HasPrefix(kv, "GOWORK=") || strings.HasPrefix(kv, "MGR_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// mustGo runs the go command in dir and fails the test when it fails.
func mustGo(ctx context.Context, t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := goTool(ctx, t, dir, args...)
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// newModule creates an empty module named path in a temporary directory, requiring mgr
// from this checkout and with mgrgen as a tool, as the README's Quickstart does (its
// go mod tidy is left to the caller, once the files are written).
func newModule(ctx context.Context, t *testing.T, path string) string {
	t.Helper()
	dir := t.TempDir()
	mustGo(ctx, t, dir, "mod", "init", path)
	mustGo(ctx, t, dir, "mod", "edit", "-replace", "github.com/mgr-go/mgr="+checkout(t))
	mustGo(ctx, t, dir, "mod", "edit", "-tool", "github.com/mgr-go/mgr/cmd/mgrgen")
	return dir
}

// writeFiles writes files (path relative to dir → content).
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// testContext bounds a test's go commands and programs.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// quickstart returns the shell commands and the Go program of the README's Quickstart
// section: its first sh and first go code blocks.
func quickstart(t *testing.T) (commands []string, program string) {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(checkout(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Quickstart\n")
	if !ok {
		t.Fatal("README.md has no Quickstart section")
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	block := func(lang string) string {
		_, rest, ok := strings.Cut(section, "\n```"+lang+"\n")
		if !ok {
			t.Fatalf("README.md's Quickstart has no %s code block", lang)
		}
		body, _, ok := strings.Cut(rest, "\n```\n")
		if !ok {
			t.Fatalf("README.md's Quickstart: unterminated %s code block", lang)
		}
		return body + "\n"
	}
	for line := range strings.Lines(block("sh")) {
		if line = strings.TrimSpace(line); line != "" {
			commands = append(commands, line)
		}
	}
	return commands, block("go")
}

// TestQuickstart follows the README's Quickstart to the letter in a fresh module: its
// commands in order, its program copied from README.md as main.go. The only additions are
// the replace directive after go mod init, which makes the module use this checkout, and
// go run . done as go build and running the binary, so that the program's output is
// checked apart from the go command's. It checks that the program prints 3, and that the
// generated file is current for a second mgrgen run.
func TestQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds and runs a fresh module with the go command")
	}
	ctx := testContext(t)
	commands, program := quickstart(t)
	if formatted, err := format.Source([]byte(program)); err != nil {
		t.Fatalf("README.md's Quickstart program does not parse: %v", err)
	} else if !bytes.Equal(formatted, []byte(program)) {
		t.Errorf("README.md's Quickstart program is not gofmt-formatted; gofmt makes it:\n%s", formatted)
	}

	want := []string{
		"go mod init example.com/hello",
		"go mod edit -tool github.com/mgr-go/mgr/cmd/mgrgen",
		"go mod tidy",
		"go generate ./...",
		"go run .",
	}
	if strings.Join(commands, "\n") != strings.Join(want, "\n") {
		// The steps below are the README's; a new step needs a look at what it does here.
		t.Fatalf("README.md's Quickstart commands are\n%s\nthis test knows\n%s", strings.Join(commands, "\n"), strings.Join(want, "\n"))
	}

	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.go": program})
	for _, c := range commands {
		args := strings.Fields(c)[1:]
		if c == "go run ." {
			bin := filepath.Join(dir, "hello")
			mustGo(ctx, t, dir, "build", "-o", bin, ".")
			cmd := exec.CommandContext(ctx, bin)
			cmd.Dir = dir
			cmd.Env = cleanEnv()
			out, err := cmd.CombinedOutput()
			if err != nil || string(out) != "3\n" {
				t.Fatalf("the Quickstart program: %v; printed %q, want \"3\\n\"", err, out)
			}
			continue
		}
		mustGo(ctx, t, dir, args...)
		if c == "go mod init example.com/hello" {
			mustGo(ctx, t, dir, "mod", "edit", "-replace", "github.com/mgr-go/mgr="+checkout(t))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "mgr_gen.go")); err != nil {
		t.Errorf("go generate wrote no mgr_gen.go: %v", err)
	}
	mustGo(ctx, t, dir, "tool", "mgrgen", "-check", "./...")
}
