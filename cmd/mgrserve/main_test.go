package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/pythons"
	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// TestMgrserve builds mgrserve, serves Go clients on a Unix socket and CPython clients
// over TCP, and checks that a Python client's item on the shared queue reaches a Go
// client; a CPython shutdown request stops it.
func TestMgrserve(t *testing.T) {
	pys := pythons.ForTest(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "mgrserve")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const keyHex = "00112233445566778899aabbccddeeff"
	cmd := exec.Command(bin, "-addr", "unix:"+filepath.Join(dir, "go.sock"), "-python", "tcp:127.0.0.1:0")
	cmd.Env = append(os.Environ(), "MGR_AUTHKEY="+keyHex)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	var goAddr, pyAddr string
	for (goAddr == "" || pyAddr == "") && lines.Scan() {
		f := strings.Fields(lines.Text())
		switch {
		case len(f) >= 4 && f[1] == "Go":
			goAddr = f[3]
		case len(f) >= 4 && f[1] == "Python":
			pyAddr = strings.TrimPrefix(f[3], "tcp:")
		}
	}
	if goAddr == "" || pyAddr == "" {
		t.Fatalf("mgrserve did not say where it listens (go %q, python %q)", goAddr, pyAddr)
	}
	for _, py := range pys {
		c := py.Command(filepath.Join("testdata", "client.py"), pyAddr)
		c.Env = append(c.Env, "MGR_AUTHKEY="+keyHex)
		if out, err := c.CombinedOutput(); err != nil || !strings.Contains(string(out), "OK") {
			t.Fatalf("python %s: %v\n%s", py.Version, err, out)
		}
	}
	addr, _ := mgr.ParseAddress(goAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := syncmgr.Connect(ctx, mgr.Options{Address: addr, AuthKey: []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}})
	if err != nil {
		t.Fatal(err)
	}
	q, err := syncmgr.LookupQueue[any](ctx, client, "queue")
	if err != nil {
		t.Fatal(err)
	}
	for range pys {
		if v, err := q.Get(ctx); err != nil || v != "hello from python" {
			t.Fatalf("Get = %v, %v", v, err)
		}
	}
	client.Close()
	// A CPython client's shutdown stops it, as it stops CPython's own manager.
	c := pys[0].Command(filepath.Join("testdata", "shutdown.py"), pyAddr)
	c.Env = append(c.Env, "MGR_AUTHKEY="+keyHex)
	if out, err := c.CombinedOutput(); err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("python shutdown: %v\n%s", err, out)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("mgrserve after a shutdown request: %v", err)
	}
}

// TestHelpExitsZero: mgrserve -h prints the usage and exits 0, not "flag: help
// requested" and 2.
func TestHelpExitsZero(t *testing.T) {
	err := run([]string{"-h"})
	if code := exitCode(err); code != 0 {
		t.Errorf("mgrserve -h: run returned %v, exit status %d; want 0", err, code)
	}
	if code := exitCode(run([]string{"-nosuchflag"})); code != 2 {
		t.Errorf("mgrserve -nosuchflag: exit status %d; want 2", code)
	}
}
