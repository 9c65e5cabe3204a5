package mgr_test

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// Regression tests for the hardening commit: oversized replies, releases whatever the
// ctx, the session-end log line, and tokens a failed Spawn made.

// objectCount counts the objects of a manager through its introspection (a child
// manager has no Server in this process).
func objectCount(t *testing.T, ctx context.Context, c *mgr.Client) int {
	t.Helper()
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	return len(info.Objects)
}

// TestOversizedReplyFailsOnlyItsCall: a reply larger than MaxFrame used to make the
// client's reader end the connection, ending the session and freeing every object it
// held. Now the call alone fails, with ErrFrameTooLarge naming the method.
func TestOversizedReplyFailsOnlyItsCall(t *testing.T) {
	ctx := testCtx(t)
	m, err := mgr.Start(ctx, mgr.Options{MaxFrame: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	c := m.Client()
	p1, err := createCounter(ctx, c, 1)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := createCounter(ctx, c, 2)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := p1.Fill(ctx, 512<<10); err != nil || len(b) != 512<<10 {
		t.Fatalf("Fill(512 KiB) = %d bytes, %v", len(b), err)
	}
	base := objectCount(t, ctx, c)

	_, err = p1.Fill(ctx, 2<<20)
	if !errors.Is(err, mgr.ErrFrameTooLarge) {
		t.Fatalf("Fill(2 MiB) with MaxFrame 1 MiB: %v, want ErrFrameTooLarge", err)
	}
	if errors.Is(err, mgr.ErrConnLost) || c.Err() != nil {
		t.Fatalf("the oversized reply ended the session: %v (client: %v)", err, c.Err())
	}
	if msg := err.Error(); !strings.Contains(msg, "Fill") || !strings.Contains(msg, "1048576") {
		t.Fatalf("error %q does not name the method and the limit", msg)
	}
	t.Logf("Fill(2 MiB): %v", err)

	// The session lives on: both proxies work, and nothing was freed.
	if err := c.Err(); err != nil {
		t.Fatalf("client after the oversized reply: %v", err)
	}
	if got, err := p2.Add(ctx, 1); err != nil || got != 3 {
		t.Fatalf("other proxy of the session: Add = %d, %v", got, err)
	}
	if got, err := p1.Get(ctx); err != nil || got != 1 {
		t.Fatalf("proxy whose call failed: Get = %d, %v", got, err)
	}
	if n := objectCount(t, ctx, c); n != base {
		t.Fatalf("objects = %d after the oversized reply, want %d", n, base)
	}
}

// TestOversizedReplyForClientsSmallerMaxFrame: the manager checks each reply against the
// MaxFrame the client announced, when it is below its own.
func TestOversizedReplyForClientsSmallerMaxFrame(t *testing.T) {
	ctx := testCtx(t)
	m, err := mgr.Start(ctx, mgr.Options{}) // 16 MiB
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	small, err := mgr.Connect(ctx, mgr.Options{Address: m.Address(), AuthKey: m.AuthKey(), MaxFrame: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	p, err := createCounter(ctx, small, 7)
	if err != nil {
		t.Fatal(err)
	}
	other, err := createCounter(ctx, small, 8)
	if err != nil {
		t.Fatal(err)
	}
	base := objectCount(t, ctx, m.Client())

	_, err = p.Fill(ctx, 2<<20)
	if !errors.Is(err, mgr.ErrFrameTooLarge) {
		t.Fatalf("Fill(2 MiB) for a client with MaxFrame 1 MiB: %v, want ErrFrameTooLarge", err)
	}
	if errors.Is(err, mgr.ErrConnLost) || small.Err() != nil {
		t.Fatalf("the oversized reply ended the session: %v (client: %v)", err, small.Err())
	}
	if msg := err.Error(); !strings.Contains(msg, "Fill") || !strings.Contains(msg, "1048576") {
		t.Fatalf("error %q does not name the method and the limit", msg)
	}
	if err := small.Err(); err != nil {
		t.Fatalf("client after the oversized reply: %v", err)
	}
	if got, err := other.Get(ctx); err != nil || got != 8 {
		t.Fatalf("other proxy of the session: Get = %d, %v", got, err)
	}
	if got, err := p.Get(ctx); err != nil || got != 7 {
		t.Fatalf("proxy whose call failed: Get = %d, %v", got, err)
	}
	if n := objectCount(t, ctx, m.Client()); n != base {
		t.Fatalf("objects = %d after the oversized reply, want %d", n, base)
	}
	// The limit is the small client's, not the manager's: a client with the default
	// MaxFrame gets the same reply through its own proxy.
	tok, err := p.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	big, err := attachCounter(ctx, m.Client(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := big.Fill(ctx, 2<<20); err != nil || len(b) != 2<<20 {
		t.Fatalf("Fill(2 MiB) for a client with the default MaxFrame: %d bytes, %v", len(b), err)
	}
}

// TestCloseWithEndedContextStillReleases: Close with a ctx that had ended marked the
// proxy released and returned without telling the manager: the reference leaked for the
// life of the session. The release now goes out whatever the ctx.
func TestCloseWithEndedContextStillReleases(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	p, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := m.Server().NumObjects(); n != 1 {
		t.Fatalf("objects = %d, want 1", n)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err = p.Close(cctx)
	t.Logf("Close(cancelled ctx) = %v", err)
	if _, err := p.Get(ctx); !errors.Is(err, mgr.ErrReleased) {
		t.Fatalf("call after Close: %v, want ErrReleased", err)
	}
	waitUntil(t, "the reference closed with a cancelled ctx to be released", 20*time.Second, func() bool {
		return m.Server().NumObjects() == 0
	})
}

// TestCollectedProxiesAreAllReleased: proxies dropped without Close are released when
// collected, in bursts (batched releases).
func TestCollectedProxiesAreAllReleased(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	const n = 2000
	createAndDrop(t, ctx, m.Client(), n)
	waitUntil(t, "every collected proxy to be released", 30*time.Second, func() bool {
		runtime.GC()
		return m.Server().NumObjects() == 0
	})
	// The session is intact and holds nothing.
	info, err := m.Client().Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range info.Sessions {
		if s.ID == m.Client().SessionID() && s.Refs != 0 {
			t.Fatalf("session holds %d references after its proxies were collected", s.Refs)
		}
	}
}

// createAndDrop creates n counters from 8 goroutines and keeps none of them.
//
//go:noinline
func createAndDrop(t *testing.T, ctx context.Context, c *mgr.Client, n int) {
	var wg sync.WaitGroup
	var failed atomic.Value
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 8 {
				p, err := createCounter(ctx, c, int64(i))
				if err != nil {
					failed.Store(err)
					return
				}
				if _, err := p.Add(ctx, 1); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
}

// TestSessionEndLogDoesNotRaceHello: endSession read sess.pid for its log line without
// the lock Hello writes it under: a data race the race detector reports. Raw sessions
// stay silent until about the moment their lease runs out (the manager checks every
// lease/4 from the session's start, so at one lease exactly) and then say Hello, so that
// some Hellos are handled while the lease's endSession runs. The race detector can only
// see it when the Hello lands within microseconds of the check, so the Hellos are spread
// around that moment in steps of 20 us; it trips on the old code in some runs, not all.
func TestSessionEndLogDoesNotRaceHello(t *testing.T) {
	var logged atomic.Int64
	const lease = 200 * time.Millisecond
	m := startInProcess(t, mgr.Options{
		Lease: lease,
		Logf: func(format string, args ...any) {
			if strings.Contains(format, "ended") {
				logged.Add(1)
			}
		},
	})
	const rounds, sessions = 3, 50
	for round := range rounds {
		var wg sync.WaitGroup
		for i := range sessions {
			conn, r := rawSession(t, m)
			// This timer only places the Hello in time; nothing waits for anything to
			// have happened, and the test's outcome does not depend on where it lands.
			at := time.NewTimer(lease + time.Duration(i-sessions/2)*20*time.Microsecond)
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-at.C
				e := mgr.NewEncoder(append(make([]byte, wire.HeaderSize), wire.KindCall))
				e.Uint64(1)                  // request ID
				e.Uint64(wire.ControlObject) // the manager itself
				e.Uint64(wire.CtlHello)
				e.Uint64(0) // no deadline
				e.Int64(int64(os.Getpid()))
				e.String("regress")
				e.Uint64(wire.DefaultMaxFrame)
				frame := e.Bytes()
				wire.PutHeader(frame, len(frame)-wire.HeaderSize)
				if _, err := conn.Write(frame); err != nil {
					return // the lease won: the session is gone already
				}
				conn.SetReadDeadline(time.Now().Add(20 * time.Second))
				r.Next() // the reply, or the end of the connection
			}()
		}
		wg.Wait()
		// Every session ends by its lease sooner or later (those whose Hello came first
		// a lease later), each with a log line.
		waitUntil(t, "the silent sessions to expire", 20*time.Second, func() bool {
			return logged.Load() >= int64((round+1)*sessions)
		})
	}
}

// TestFailedSpawnRevokesItsTokens: Spawn makes a token for each proxy argument; when a
// later argument fails, the tokens used to stay until TokenTTL, keeping their objects.
// Spawn now revokes them.
func TestFailedSpawnRevokesItsTokens(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{TokenTTL: time.Hour})
	p, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Spawn(ctx, "add", p, func() {})
	if err == nil || !strings.Contains(err.Error(), "argument 1") {
		t.Fatalf("Spawn with an unencodable argument: %v", err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the object held by the failed Spawn's token to go", 20*time.Second, func() bool {
		return m.Server().NumObjects() == 0
	})
}
