package mgr_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// helperLoad attaches the shared counter and runs 64 goroutines for MGR_T7_DURATION:
// most add to the counter; every eighth call of each is a blocking call cancelled by a
// short deadline. It prints "adds N blocks M" and fails on any unexpected error.
func helperLoad() int {
	ctx := context.Background()
	c, tok, err := helperConnect(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	h, err := c.Attach(ctx, tok)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	p := &counterProxy{mgr.MakeProxyBase(h)}
	dur, err := time.ParseDuration(os.Getenv(envHelperDur))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	end := time.Now().Add(dur)
	var adds, blocks atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for g := range 64 {
		wg.Go(func() {
			for i := 0; time.Now().Before(end); i++ {
				if (i+g)%8 == 0 {
					// A blocking call ended by its deadline: the deadline reaches the
					// manager, which ends the call; either side may notice first.
					bctx, cancel := context.WithTimeout(ctx, time.Duration(1+i%3)*time.Millisecond)
					_, err := p.Block(bctx)
					cancel()
					// The call ends with its ctx's error or the manager's report that
					// the method saw the cancellation.
					if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
						errc <- fmt.Errorf("Block: %w", err)
						return
					}
					blocks.Add(1)
					continue
				}
				if _, err := p.Add(ctx, 1); err != nil {
					errc <- fmt.Errorf("Add: %w", err)
					return
				}
				adds.Add(1)
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("adds %d blocks %d\n", adds.Load(), blocks.Load())
	return 0
}

// TestLoadFourProcesses runs 4 client processes × 64 goroutines against one manager for
// a few seconds: no call fails and the counter ends exactly at the number of adds the
// clients saw succeed; afterwards the manager is back to its baseline.
func TestLoadFourProcesses(t *testing.T) {
	dur := 3 * time.Second
	if testing.Short() {
		dur = 500 * time.Millisecond
	}
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	srv := m.Server()
	p, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	base := measure(t, srv)
	type result struct {
		adds, blocks int64
		err          error
	}
	results := make(chan result, 4)
	for range 4 {
		tok, err := p.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cmd, out := startHelper(t, "load", append(helperEnv(m, tok), envHelperDur+"="+dur.String())...)
		go func() {
			line, err := out.ReadString('\n')
			werr := cmd.Wait()
			var r result
			f := strings.Fields(line)
			if len(f) != 4 || f[0] != "adds" || werr != nil {
				r.err = fmt.Errorf("helper said %q (%v), exited %v", line, err, werr)
			} else {
				r.adds, _ = strconv.ParseInt(f[1], 10, 64)
				r.blocks, _ = strconv.ParseInt(f[3], 10, 64)
			}
			results <- r
		}()
	}
	var adds, blocks int64
	for range 4 {
		select {
		case r := <-results:
			if r.err != nil {
				t.Fatal(r.err)
			}
			adds += r.adds
			blocks += r.blocks
		case <-ctx.Done():
			t.Fatal("load helpers did not finish")
		}
	}
	got, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("4 processes × 64 goroutines for %s: %d adds (%.0f/s), %d cancelled blocking calls; counter %d",
		dur, adds, float64(adds)/dur.Seconds(), blocks, got)
	if got != adds {
		t.Fatalf("counter = %d, want %d", got, adds)
	}
	waitBaseline(t, srv, base, "after the load", measure(t, srv))
	runtime.KeepAlive(p) // the baseline counts p's object; its cleanup would release it
}
