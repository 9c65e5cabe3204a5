package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pywire "github.com/mgr-go/mgr/runtime/pyproto/wire"
)

// TestLogsRejectedConnections: by default mgrserve tells its operator, on stderr, about
// a client refused for a wrong key — otherwise a misconfigured Python client fails with
// an AuthenticationError and the server shows nothing.
func TestLogsRejectedConnections(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "mgrserve")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sock := filepath.Join(dir, "py.sock")
	cmd := exec.Command(bin, "-python", "unix:"+sock)
	cmd.Env = append(os.Environ(), "MGR_AUTHKEY=00112233")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	// Listening once it says so.
	if !bufio.NewScanner(stdout).Scan() {
		t.Fatal("mgrserve printed nothing")
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	err = pywire.ClientHandshake(pywire.NewConn(conn, 1<<20), []byte("wrong key"), pywire.Modern)
	conn.Close()
	if err == nil {
		t.Fatal("a wrong key was accepted")
	}
	lines := make(chan string, 1024) // room for what it writes after the test stops reading
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("stderr ended without a record of the rejected connection")
			}
			if strings.Contains(line, "rejected CPython connection") && strings.Contains(line, "level=WARN") {
				return
			}
		case <-timeout:
			t.Fatal("no record of the rejected connection on stderr after 30 s")
		}
	}
}
