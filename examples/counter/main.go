// Counter is seed 002's custom-manager example in Go: a Counter type that lives in a
// manager process and is shared by three worker processes.
//
//	go run ./examples/counter
//
// main starts the manager as a child process (this binary, re-executed) serving on a
// private Unix socket, creates one Counter there, and spawns three workers — again this
// binary — that each increment and decrement the Counter through a proxy. Every line a
// worker prints carries its process ID, so you can see three processes sharing one
// object.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Workers are found by name: a worker process is this binary started afresh, so the
// registration must happen in init, which runs in every process.
func init() {
	mgr.RegisterWorker("counter-worker", counterWorker)
}

// counterWorker runs in each worker process. Its arguments are those main gave Spawn:
// the Counter (as a proxy), the worker's number and how many operations to do.
func counterWorker(ctx context.Context, w *mgr.WorkerEnv) error {
	counter, err := mgr.AttachArg(ctx, w, 0, AttachCounter)
	if err != nil {
		return err
	}
	id, err := mgr.WorkerArg[int](w, 1)
	if err != nil {
		return err
	}
	ops, err := mgr.WorkerArg[int](w, 2)
	if err != nil {
		return err
	}
	for i := range ops {
		if i%2 == 0 {
			v, err := counter.Increment(ctx)
			if err != nil {
				return err
			}
			fmt.Printf("worker %d (pid %d): incremented to %d\n", id, os.Getpid(), v)
		} else {
			v, err := counter.Decrement(ctx)
			if err != nil {
				return err
			}
			fmt.Printf("worker %d (pid %d): decremented to %d\n", id, os.Getpid(), v)
		}
	}
	return nil
}

func main() {
	// First thing in main: in a manager or worker process this runs that role and exits,
	// so nothing below runs twice.
	mgr.RunChild()

	workers := flag.Int("workers", 3, "number of worker processes")
	ops := flag.Int("ops", 5, "operations per worker (alternately increment and decrement)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *workers, *ops); err != nil {
		fmt.Fprintln(os.Stderr, "counter:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, workers, ops int) error {
	m, err := mgr.Start(ctx, mgr.Options{})
	if err != nil {
		return err
	}
	defer m.Shutdown(context.Background())
	fmt.Printf("main (pid %d): manager running as pid %d on %s\n", os.Getpid(), m.PID(), m.Address())

	counter, err := CreateCounter(ctx, m.Client())
	if err != nil {
		return err
	}
	v, err := counter.Value(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("Initial counter value: %d\n", v)

	var procs []*mgr.Process
	for i := range workers {
		p, err := m.Spawn(ctx, "counter-worker", counter, i, ops)
		if err != nil {
			return err
		}
		procs = append(procs, p)
	}
	for _, p := range procs {
		if _, err := p.Wait(ctx); err != nil {
			return err
		}
	}

	v, err = counter.Value(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("Final counter value: %d (%d workers × %d operations)\n", v, workers, ops)
	return nil
}
