package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mgr-go/mgr/internal/bench/benchobj"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// Scale: the manager's memory per live object, and call latency with many sessions.

func init() { roles["mgrsessions"] = roleMgrSessions }

// counterAlloc is what one benchobj.Counter takes on the heap (one int: an 8-byte
// allocation); the rest of the per-object figure is the manager's overhead.
const counterAlloc = 8

func runScale(ctx context.Context, cfg *Config, r *Report) error {
	if err := scaleMemory(ctx, cfg, r); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	if err := scaleSessions(ctx, cfg, r); err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	return nil
}

func scaleMemory(ctx context.Context, cfg *Config, r *Report) error {
	b, err := startManager(ctx)
	if err != nil {
		return err
	}
	defer b.shutdown()
	heap0, err := b.ctl.HeapAlloc(ctx)
	if err != nil {
		return err
	}
	rss0, _ := b.ctl.RSS(ctx)

	var proxies []*benchobj.CounterProxy
	var mu sync.Mutex
	create := func(n int) error {
		var next atomic.Int64
		var wg sync.WaitGroup
		var firstErr error
		var once sync.Once
		for range 32 {
			wg.Go(func() {
				var mine []*benchobj.CounterProxy
				for next.Add(1) <= int64(n) {
					p, err := benchobj.CreateCounter(ctx, b.c, 0)
					if err != nil {
						once.Do(func() { firstErr = err })
						return
					}
					mine = append(mine, p)
				}
				mu.Lock()
				proxies = append(proxies, mine...)
				mu.Unlock()
			})
		}
		wg.Wait()
		return firstErr
	}
	steps := []struct {
		n   int
		key string
	}{{100_000, "100k"}, {1_000_000, "1m"}}
	for _, st := range steps {
		if cfg.Quick && st.n > 100_000 {
			for _, k := range []string{"heap", "overhead", "rss"} {
				r.mark("scale", "scale.mem."+st.key+"."+k, memLabel(st.key, k), "B/object", "skipped (-quick)")
			}
			continue
		}
		t0 := time.Now()
		if err := create(st.n - len(proxies)); err != nil {
			return err
		}
		cfg.logf("scale: %d objects live (%.1fs)", len(proxies), time.Since(t0).Seconds())
		heap, err := b.ctl.HeapAlloc(ctx)
		if err != nil {
			return err
		}
		rss, _ := b.ctl.RSS(ctx)
		per := float64(heap-heap0) / float64(st.n)
		r.set("scale", "scale.mem."+st.key+".heap", memLabel(st.key, "heap"), per, "B/object")
		m := r.set("scale", "scale.mem."+st.key+".overhead", memLabel(st.key, "overhead"), per-counterAlloc, "B/object")
		m.Note = fmt.Sprintf("heap minus the %d B Counter", counterAlloc)
		if rss0 > 0 && rss > 0 {
			r.set("scale", "scale.mem."+st.key+".rss", memLabel(st.key, "rss"), float64(rss-rss0)/float64(st.n), "B/object")
		}
	}
	return nil
}

func memLabel(n, kind string) string {
	switch kind {
	case "heap":
		return "manager live Go heap per object at " + n + " objects (after GC)"
	case "overhead":
		return "manager overhead per object at " + n + " objects"
	default:
		return "manager RSS growth per object at " + n + " objects"
	}
}

// sessionsCfg configures a "mgrsessions" peer: Sessions sessions (one mgr.Client each),
// each with its own Counter, each calling Add then sleeping Think, for Duration.
type sessionsCfg struct {
	clientCfg
	Sessions int
	Think    time.Duration
	Duration time.Duration
}

type sessionsResult struct {
	LatNs []int64
}

func roleMgrSessions(raw json.RawMessage, in *bufio.Reader, out *json.Encoder) error {
	var cfg sessionsCfg
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return err
	}
	ctx := context.Background()
	clients := make([]*mgr.Client, cfg.Sessions)
	proxies := make([]*benchobj.CounterProxy, cfg.Sessions)
	var wg sync.WaitGroup
	errs := make([]error, cfg.Sessions)
	sem := make(chan struct{}, 16)
	for i := range cfg.Sessions {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := cfg.connect(ctx)
			if err != nil {
				errs[i] = err
				return
			}
			clients[i] = c
			proxies[i], errs[i] = benchobj.CreateCounter(ctx, c, 0)
		})
	}
	wg.Wait()
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
	}()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if err := ready(out); err != nil {
		return err
	}
	if !waitGo(in) {
		return nil
	}
	lats := make([][]int64, cfg.Sessions)
	var failed atomic.Value
	end := time.Now().Add(cfg.Duration)
	for i, p := range proxies {
		wg.Go(func() {
			// Spread the sessions' phases over the think time.
			time.Sleep(time.Duration(int64(cfg.Think) * int64(i) / int64(len(proxies))))
			for time.Now().Before(end) {
				t0 := time.Now()
				if _, err := p.Add(ctx, 1); err != nil {
					failed.Store(err)
					return
				}
				lats[i] = append(lats[i], int64(time.Since(t0)))
				time.Sleep(cfg.Think)
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return err
	}
	var res sessionsResult
	for _, l := range lats {
		res.LatNs = append(res.LatNs, l...)
	}
	return out.Encode(res)
}

func scaleSessions(ctx context.Context, cfg *Config, r *Report) error {
	b, err := startManager(ctx)
	if err != nil {
		return err
	}
	defer b.shutdown()
	d := pick(cfg, 3*time.Second, 8*time.Second)
	run := func(procs, perProc int, think time.Duration) (latSummary, error) {
		ps, err := startPeers(procs, "mgrsessions", func(int) any {
			return sessionsCfg{clientCfg: b.clientCfg(), Sessions: perProc, Think: think, Duration: d}
		})
		if err != nil {
			return latSummary{}, err
		}
		defer stopAll(ps)
		for _, p := range ps {
			if err := p.goNow(); err != nil {
				return latSummary{}, err
			}
		}
		var all latencies
		for _, p := range ps {
			var res sessionsResult
			if err := p.result(&res); err != nil {
				return latSummary{}, err
			}
			for _, ns := range res.LatNs {
				all = append(all, time.Duration(ns))
			}
		}
		return summarize(all, d), nil
	}
	one, err := run(1, 1, time.Millisecond)
	if err != nil {
		return err
	}
	r.set("scale", "scale.sess1.p50", "1 session, a call every 1 ms: p50", one.P50, "µs")
	r.set("scale", "scale.sess1.p99", "1 session, a call every 1 ms: p99", one.P99, "µs")
	const think = 50 * time.Millisecond
	many, err := run(4, 250, think)
	if err != nil {
		return err
	}
	m := r.set("scale", "scale.sess1000.p50", "1,000 sessions in 4 processes, each a call every 50 ms: p50", many.P50, "µs", "scale.sess1.p50")
	m.Note = fmt.Sprintf("%.0f calls/s", many.PerSec)
	r.set("scale", "scale.sess1000.p99", "1,000 sessions in 4 processes, each a call every 50 ms: p99", many.P99, "µs", "scale.sess1.p99")
	return nil
}
