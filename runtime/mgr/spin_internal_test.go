//go:build linux

package mgr

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestPollBudget: polling is off when asked or on one P; at most half the Ps' worth of
// readers poll at once; a busy predicate stops it.
func TestPollBudget(t *testing.T) {
	if newPollBudget(Options{SpinWait: -1}) != nil {
		t.Fatal("SpinWait < 0 still polls")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	if newPollBudget(Options{}) != nil {
		t.Fatal("polls with one P")
	}
	runtime.GOMAXPROCS(4)
	if runtime.NumCPU() < 2 {
		t.Skip("one CPU: polling is always off")
	}
	b := newPollBudget(Options{})
	if b == nil || b.window != defaultSpinWait {
		t.Fatalf("default budget = %+v", b)
	}
	first, second, third := b.take(), b.take(), b.take()
	if !first || !second || third {
		t.Fatalf("4 Ps: pollers taken %v %v %v; want two at once, no third", first, second, third)
	}
	b.give()
	busy := true
	b.busy = func() bool { return busy }
	if b.take() {
		t.Fatal("polled while busy")
	}
	busy = false
	if !b.take() {
		t.Fatal("a slot given back is not taken again")
	}
}

// TestPolledReadEndsAsNetConnDoes: a reader that polls still sees what arrives, the end of
// the stream, and its read deadline, as a net.Conn read would.
func TestPolledReadEndsAsNetConnDoes(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 || runtime.NumCPU() < 2 {
		t.Skip("one P or CPU: readers never poll")
	}
	ln, err := net.Listen("unix", t.TempDir()+"/s")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := rawReaderOf(conn, newPollBudget(Options{SpinWait: time.Millisecond}))
	if r == nil {
		t.Fatal("no raw reader for a Unix socket")
	}
	buf := make([]byte, 16)
	for i := range 3 { // hot: each read polls, and the data comes while it does or after
		go peer.Write([]byte{byte(i)})
		if n, err := r.Read(buf); err != nil || n != 1 || buf[0] != byte(i) {
			t.Fatalf("read %d: %d %v %v", i, n, buf[:n], err)
		}
	}
	conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := r.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past its deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	conn.SetReadDeadline(time.Time{})
	peer.Close()
	if _, err := r.Read(buf); err != io.EOF {
		t.Fatalf("read after the peer closed: %v, want io.EOF", err)
	}
}

// TestColdReaderProbes: a reader that is not hot still polls once every probeEvery reads,
// so two peers that both went cold (each one's wait holding both wake-ups) find out when
// polling would answer again; without a budget it never does.
func TestColdReaderProbes(t *testing.T) {
	var none *pollBudget
	cold := 0
	for i := range 3 * probeEvery {
		if none.probe(&cold) {
			t.Fatalf("read %d: probed without a budget", i)
		}
	}
	b := &pollBudget{window: defaultSpinWait}
	cold = 0
	var probes []int
	for i := 1; i <= 3*probeEvery; i++ {
		if b.probe(&cold) {
			probes = append(probes, i)
		}
	}
	if len(probes) != 3 || probes[0] != probeEvery || probes[1] != 2*probeEvery || probes[2] != 3*probeEvery {
		t.Fatalf("cold reads that probed: %v; want every %dth", probes, probeEvery)
	}
}
