// Command mgrbench measures mgr against its anchors — a raw Unix-socket ping-pong, Go's
// net/rpc, gRPC-go, Redis and CPython's multiprocessing.managers, Pool and
// SharedMemoryManager — with real processes, in one run, and prints every figure beside
// its anchors as a ratio (a table, or one JSON object with -json). Results and how to
// read them: cmd/mgrbench/RESULTS.md.
//
// mgrbench is a module of its own (go-redis and grpc are its dependencies, not mgr's):
// from the repository's root, run it with go run -C cmd/mgrbench . [flags].
//
//	mgrbench [-quick] [-json] [-plot DIR] [-only seq,rpc,mgr,sync,micro,pool,shm,cpython,pyfront,scale,grpc,redis,etcd,sweep] [-cpuprofile manager.pprof]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/mgr-go/mgr/cmd/mgrbench/internal/anchors"
	"github.com/mgr-go/mgr/internal/bench"
	"github.com/mgr-go/mgr/runtime/mgr"
)

func main() {
	mgr.RunChild()  // the manager child process and the pool's workers
	bench.RunRole() // the benchmark's own peer processes

	var cfg bench.Config
	var only string
	flag.BoolVar(&cfg.Quick, "quick", false, "fewer iterations and shorter windows: finishes in about a minute")
	flag.BoolVar(&cfg.JSON, "json", false, "write one JSON object instead of the table")
	flag.StringVar(&only, "only", "", "comma-separated sections to run: seq,rpc,mgr,sync,micro,pool,shm,cpython,pyfront,scale,grpc,redis,etcd,sweep (default all but sweep)")
	flag.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the manager child during the mgr rows to this file")
	flag.StringVar(&cfg.Python, "python", "", "python interpreter for the CPython rows (default python3 on PATH)")
	flag.StringVar(&cfg.Plot, "plot", "", "write SVG charts of the run to this directory (also runs the sweep: throughput by goroutines and processes)")
	quiet := flag.Bool("q", false, "no progress lines on stderr")
	flag.Parse()
	if only != "" {
		cfg.Only = strings.Split(only, ",")
	}
	if !*quiet {
		cfg.Log = os.Stderr
	}
	anchors.Add(&cfg)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := bench.Run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mgrbench:", err)
		os.Exit(1)
	}
}
