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
// port) and real clients of every CPython found against it: an unmodified BaseManager
// client (testdata/client.py), and one through the typed module mgrgen generated
// (mgr_gen.py, testdata/typed_client.py), which must also byte-compile.
func TestPyinterop(t *testing.T) {
	pys := pythons.ForTest(t)
	for _, py := range pys {
		// py_compile, with the byte code written outside the source tree.
		c := py.Command("-c", "import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)",
			"mgr_gen.py", filepath.Join(t.TempDir(), "mgr_gen.pyc"))
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("python %s: py_compile mgr_gen.py: %v\n%s", py.Version, err, out)
		}
	}
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
		for _, client := range []string{"client.py", "typed_client.py"} {
			c := py.Command(filepath.Join("testdata", client), addr)
			c.Env = append(c.Env, "MGR_AUTHKEY="+key, "PYTHONDONTWRITEBYTECODE=1")
			out, err := c.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "OK") {
				t.Fatalf("python %s %s: %v\n%s", py.Version, client, err, out)
			}
			t.Logf("python %s %s: %s", py.Version, client, out)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("pyinterop after SIGTERM: %v", err)
	}
}
