package mgr_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// A map key decoded into an interface may hold an unhashable value ([]any, a map, a
// registered struct holding one); hostile input must fail to decode, not panic.
func TestDecodeUnhashableMapKey(t *testing.T) {
	e := mgr.NewEncoder(nil)
	e.Value(&map[any]int{"k": 1}) // a well-formed map[any]int of one entry: count, key, value
	good := e.Bytes()
	// Swap the key (tag string + "k") for an []any holding one int: tag 17 (slice), len+1,
	// then tag 1 (int)… the encoding of any([]any{1}).
	ke := mgr.NewEncoder(nil)
	var key any = []any{1}
	ke.Value(&key)
	bad := append(append([]byte{good[0]}, ke.Bytes()...), good[len(good)-1])

	var out map[any]int
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("decode panicked: %v", p)
			}
		}()
		return mgr.BinaryCodec{}.Decode(mgr.NewDecoder(bad), &out)
	}()
	if !errors.Is(err, mgr.ErrDecode) {
		t.Fatalf("decode of an unhashable key: %v, want ErrDecode", err)
	}
}

// reviewHelperStdin keeps the pipe to the initializer's helper process open for the
// manager's life (the helper, cat, exits when the manager does).
var reviewHelperStdin io.WriteCloser

func init() {
	mgr.RegisterInitializer("review-start-helper", func(*mgr.Server) error {
		cmd := exec.Command("cat")
		w, err := cmd.StdinPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		reviewHelperStdin = w
		go cmd.Wait()
		return nil
	})
}

// An initializer that starts a long-running program must not make Start wait for that
// program: the child's ready pipe must not leak into it (the parent reads the ready
// pipe to its end).
func TestStartInitializerStartsLongLivedProgram(t *testing.T) {
	if _, err := exec.LookPath("cat"); err != nil {
		t.Skip("no cat")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := mgr.Start(ctx, mgr.Options{Initializer: "review-start-helper"})
	if err != nil {
		t.Fatalf("Start with an initializer that starts a program: %v", err)
	}
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// StartInProcess refuses a TLS config; it must do so before it listens, not leave a
// server serving the address with nobody to shut it down.
func TestStartInProcessTLSRefusedWithoutListening(t *testing.T) {
	addr := mgr.Address{Network: "unix", Addr: filepath.Join(t.TempDir(), "m.sock")}
	_, err := mgr.StartInProcess(mgr.Options{Address: addr, AuthKey: []byte("k"), TLS: &tls.Config{}})
	if err == nil {
		t.Fatal("StartInProcess accepted a TLS config")
	}
	if conn, err := net.Dial("unix", addr.Addr); err == nil {
		conn.Close()
		t.Fatal("StartInProcess refused TLS but left a manager listening on the address")
	}
}

// lateDeadline is a ctx whose deadline reaches the manager later than it passes here: it
// pins down the race in which the caller's cancel message reaches the manager before the
// manager's own copy of the deadline fires.
type lateDeadline struct{ context.Context }

func (c lateDeadline) Deadline() (time.Time, bool) { return time.Now().Add(time.Hour), true }

// A call whose ctx deadline passes reports context.DeadlineExceeded, even when the manager
// saw our cancellation (context.Canceled) before its copy of the deadline.
func TestCallDeadlineReportedAsDeadlineWhenCancelWinsRace(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	p, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = p.Block(lateDeadline{short})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Block past its deadline: %v, want context.DeadlineExceeded", err)
	}
}

// TestConnectHonoursCancelDuringHandshake: a manager that accepts and then says nothing
// must not hold a Connect whose ctx is cancelled (no deadline) for the whole
// HandshakeTimeout.
func TestConnectHonoursCancelDuringHandshake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			accepted <- conn
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := mgr.Connect(ctx, mgr.Options{Address: mgr.ListenerAddress(ln), AuthKey: []byte("k"), HandshakeTimeout: time.Hour})
		done <- err
	}()
	conn := <-accepted
	defer conn.Close()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Connect after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Connect ignored the cancellation")
	}
}
