package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mgr-go/mgr/internal/bench/benchobj"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// The mgr rows: the same Add through a generated proxy (benchobj.CounterProxy) to a
// child-process manager started with mgr.Start, over its private Unix socket.

func init() {
	roles["mgrload"] = roleMgrLoad
}

// benchManager starts the manager child every mgr row uses, with the benchmark's Ctl.
type benchManager struct {
	m   *mgr.Manager
	c   *mgr.Client
	ctl *benchobj.CtlProxy
}

func startManager(ctx context.Context) (*benchManager, error) {
	m, err := mgr.Start(ctx, mgr.Options{Initializer: benchobj.Initializer})
	if err != nil {
		return nil, err
	}
	ctl, err := benchobj.LookupCtl(ctx, m.Client(), benchobj.CtlName)
	if err != nil {
		m.Shutdown(ctx)
		return nil, err
	}
	return &benchManager{m: m, c: m.Client(), ctl: ctl}, nil
}

func (b *benchManager) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b.m.Shutdown(ctx)
}

// clientCfg tells a peer how to reach the manager.
type clientCfg struct {
	Addr string
	Key  []byte
}

func (b *benchManager) clientCfg() clientCfg {
	return clientCfg{Addr: b.m.Address().String(), Key: b.m.AuthKey()}
}

func (cc clientCfg) connect(ctx context.Context) (*mgr.Client, error) {
	addr, err := mgr.ParseAddress(cc.Addr)
	if err != nil {
		return nil, err
	}
	return mgr.Connect(ctx, mgr.Options{Address: addr, AuthKey: cc.Key})
}

// loadCfg configures a "mgrload" peer: one session, Goroutines goroutines calling Add on
// the Counter named by Token for Duration.
type loadCfg struct {
	clientCfg
	Token      mgr.Token
	Goroutines int
	Duration   time.Duration
}

type loadResult struct {
	Calls   int64
	Seconds float64
}

func roleMgrLoad(raw json.RawMessage, in *bufio.Reader, out *json.Encoder) error {
	var cfg loadCfg
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return err
	}
	ctx := context.Background()
	c, err := cfg.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	p, err := benchobj.AttachCounter(ctx, c, cfg.Token)
	if err != nil {
		return err
	}
	for range 200 { // warm-up
		if _, err := p.Add(ctx, 1); err != nil {
			return err
		}
	}
	if err := ready(out); err != nil {
		return err
	}
	if !waitGo(in) {
		return nil
	}
	var stop atomic.Bool
	var n atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	t0 := time.Now()
	for range cfg.Goroutines {
		wg.Go(func() {
			k := int64(0)
			for !stop.Load() {
				if _, err := p.Add(ctx, 1); err != nil {
					once.Do(func() { firstErr = err })
					break
				}
				k++
			}
			n.Add(k)
		})
	}
	time.Sleep(cfg.Duration)
	stop.Store(true)
	wg.Wait()
	el := time.Since(t0)
	if firstErr != nil {
		return firstErr
	}
	return out.Encode(loadResult{Calls: n.Load(), Seconds: el.Seconds()})
}

// runProcs runs procs "mgrload" peers against counter p and returns their total calls/s.
func runProcs(ctx context.Context, b *benchManager, p *benchobj.CounterProxy, procs, goroutines int, d time.Duration) (float64, error) {
	toks := make([]mgr.Token, procs)
	for i := range toks {
		t, err := p.Token(ctx)
		if err != nil {
			return 0, err
		}
		toks[i] = t
	}
	ps, err := startPeers(procs, "mgrload", func(i int) any {
		return loadCfg{clientCfg: b.clientCfg(), Token: toks[i], Goroutines: goroutines, Duration: d}
	})
	if err != nil {
		return 0, err
	}
	defer stopAll(ps)
	for _, q := range ps {
		if err := q.goNow(); err != nil {
			return 0, err
		}
	}
	total := 0.0
	for _, q := range ps {
		var res loadResult
		if err := q.result(&res); err != nil {
			return 0, err
		}
		total += float64(res.Calls) / res.Seconds
	}
	return total, nil
}

func runMgr(ctx context.Context, cfg *Config, r *Report) error {
	b, err := startManager(ctx)
	if err != nil {
		return err
	}
	defer b.shutdown()
	if cfg.CPUProfile != "" {
		path, err := filepath.Abs(cfg.CPUProfile)
		if err != nil {
			return err
		}
		if err := b.ctl.StartCPUProfile(ctx, path); err != nil {
			return fmt.Errorf("start the manager's CPU profile: %w", err)
		}
		defer func() {
			if err := b.ctl.StopCPUProfile(ctx); err != nil {
				cfg.logf("stop the manager's CPU profile: %v", err)
			} else {
				cfg.logf("manager CPU profile written to %s", path)
			}
		}()
	}
	ctx0 := context.Background()
	p, err := benchobj.CreateCounter(ctx, b.c, 0)
	if err != nil {
		return err
	}
	defer p.Close(ctx)

	// 64 goroutines on one connection.
	d := pick(cfg, 1500*time.Millisecond, 4*time.Second)
	par64, err := parallel(64, d, func() error {
		_, err := p.Add(ctx0, 1)
		return err
	})
	if err != nil {
		return err
	}
	r.set("mgr", "mgr.par64", "mgr 64 goroutines, one connection", par64, "calls/s", "rpc.par64", "grpc.par64", "py.sat")

	// Client processes.
	procs4, err := runProcs(ctx, b, p, 4, 1, d)
	if err != nil {
		return fmt.Errorf("4 client processes: %w", err)
	}
	r.set("mgr", "mgr.procs4", "mgr 4 client processes, 1 goroutine each", procs4, "calls/s", "py.procs4")
	procs4x16, err := runProcs(ctx, b, p, 4, 16, d)
	if err != nil {
		return fmt.Errorf("4 client processes ×16: %w", err)
	}
	r.set("mgr", "mgr.procs4x16", "mgr 4 client processes, 16 goroutines each", procs4x16, "calls/s", "py.sat")
	r.set("mgr", "mgr.sat", "mgr saturated: best of 64 goroutines / 4 processes", max(par64, procs4, procs4x16), "calls/s", "rpc.par64", "grpc.par64", "py.sat")

	// create + call + release: pipelined (the create's reply is not waited for, the
	// release rides with the next frame), and with the create waited for.
	for _, row := range []struct {
		key, label string
		create     func(context.Context, *mgr.Client, int) (*benchobj.CounterProxy, error)
	}{
		{"mgr.ccr", "mgr create + Add + release", benchobj.CreateCounterPipelined},
		{"mgr.ccr.wait", "mgr create (waited for) + Add + release", benchobj.CreateCounter},
	} {
		s, err := timeSeq(pick(cfg, 500, 2000), pick(cfg, 5000, 30000), func() error {
			q, err := row.create(ctx0, b.c, 1)
			if err != nil {
				return err
			}
			if _, err := q.Add(ctx0, 1); err != nil {
				return err
			}
			return q.Close(ctx0)
		})
		if err != nil {
			return err
		}
		if row.key == "mgr.ccr" {
			r.set("mgr", row.key, row.label, s.PerSec, "ops/s", "py.ccr")
		}
		r.set("mgr", row.key+".p50", row.label+" p50", s.P50, "µs", "mgr.seq.p50", "py.ccr.p50")
	}

	// 1 KiB []byte payload both ways.
	payload := make([]byte, 1024)
	for i := range payload {
		payload[i] = byte(i)
	}
	s, err := timeSeq(pick(cfg, 1000, 5000), pick(cfg, 10000, 50000), func() error {
		got, err := p.Echo(ctx0, payload)
		if err == nil && len(got) != len(payload) {
			err = fmt.Errorf("echo returned %d bytes", len(got))
		}
		return err
	})
	if err != nil {
		return err
	}
	r.set("mgr", "mgr.echo1k.p50", "mgr Echo 1 KiB []byte p50", s.P50, "µs", "mgr.seq.p50", "py.echo1k.p50")
	r.set("mgr", "mgr.echo1k.rate", "mgr Echo 1 KiB []byte calls/s", s.PerSec, "calls/s", "py.echo1k.rate")
	return nil
}
