package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mgr-go/mgr/internal/pythons"
)

// TestPyinterop runs the example as a user would (go build, then the binary on a TCP
// port) and a real BaseManager client of every CPython found against it.
func TestPyinterop(t *testing.T) {
	pys := pythons.ForTest(t)
	bin := filepath.Join(t.TempDir(), "pyinterop")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const key = "5eed5eed"
	cmd := exec.Command(bin, "-python", "tcp:127.0.0.1:0")
	cmd.Env = append(os.Environ(), "MGR_AUTHKEY="+key)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	i := strings.LastIndex(line, "tcp:")
	if err != nil || i < 0 {
		t.Fatalf("pyinterop said %q, %v", line, err)
	}
	addr := strings.TrimSpace(line[i+len("tcp:"):])
	for _, py := range pys {
		c := py.Command(filepath.Join("testdata", "client.py"), addr)
		c.Env = append(c.Env, "MGR_AUTHKEY="+key)
		out, err := c.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "OK") {
			t.Fatalf("python %s: %v\n%s", py.Version, err, out)
		}
		t.Logf("python %s: %s", py.Version, out)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("pyinterop after SIGTERM: %v", err)
	}
}
