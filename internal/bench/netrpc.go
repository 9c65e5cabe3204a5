package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/rpc"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// net/rpc: the same trivial method (add an int to a counter) served by Go's net/rpc
// (gob) from another process over a Unix socket.

func init() { roles["rpc"] = roleRPC }

// RPCCounter is the net/rpc service.
type RPCCounter struct {
	mu sync.Mutex
	n  int
}

// Add adds d to the counter and returns the new value.
func (c *RPCCounter) Add(d int, reply *int) error {
	c.mu.Lock()
	c.n += d
	*reply = c.n
	c.mu.Unlock()
	return nil
}

func roleRPC(raw json.RawMessage, in *bufio.Reader, out *json.Encoder) error {
	var cfg sockCfg
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return err
	}
	srv := rpc.NewServer()
	if err := srv.RegisterName("Counter", &RPCCounter{}); err != nil {
		return err
	}
	ln, err := net.Listen("unix", cfg.Path)
	if err != nil {
		return err
	}
	go func() { waitEOF(in); os.Exit(0) }()
	if err := ready(out); err != nil {
		return err
	}
	srv.Accept(ln)
	return nil
}

// parallel runs op from g goroutines for d (after a short warm-up) and returns ops/s.
func parallel(g int, d time.Duration, op func() error) (float64, error) {
	var stop atomic.Bool
	var n atomic.Int64
	var counting atomic.Bool
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range g {
		wg.Go(func() {
			for !stop.Load() {
				if err := op(); err != nil {
					once.Do(func() { firstErr = err })
					stop.Store(true)
					return
				}
				if counting.Load() {
					n.Add(1)
				}
			}
		})
	}
	time.Sleep(d / 5) // warm-up
	counting.Store(true)
	t0 := time.Now()
	time.Sleep(d)
	counting.Store(false)
	el := time.Since(t0)
	stop.Store(true)
	wg.Wait()
	return float64(n.Load()) / el.Seconds(), firstErr
}

// startRPC starts the net/rpc peer and returns its client.
func startRPC() (c *rpc.Client, stop func(), err error) {
	path, cleanup, err := tempSock("rpc.sock")
	if err != nil {
		return nil, nil, err
	}
	p, err := startPeer("rpc", sockCfg{Path: path})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	c, err = rpc.Dial("unix", path)
	if err != nil {
		p.stop()
		cleanup()
		return nil, nil, err
	}
	return c, func() { c.Close(); p.stop(); cleanup() }, nil
}

// runRPC measures net/rpc with 64 goroutines on one connection (its sequential rows are
// measured by runSeq).
func runRPC(ctx context.Context, cfg *Config, r *Report) error {
	c, stop, err := startRPC()
	if err != nil {
		return err
	}
	defer stop()
	rate, err := parallel(64, pick(cfg, 1500*time.Millisecond, 4*time.Second), func() error {
		var reply int
		return c.Call("Counter.Add", 1, &reply)
	})
	if err != nil {
		return err
	}
	r.set("rpc", "rpc.par64", "net/rpc 64 goroutines, one connection", rate, "calls/s")
	return nil
}
