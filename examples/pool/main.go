// Command pool is Python's multiprocessing.Pool (and manager.Pool()) in mgr: a manager
// child process, a pool of two worker processes started by this process, Map, Imap and
// ApplyAsync, a second process using the pool through its proxy, and a task that
// crashes its worker: that task fails with pool.ErrWorkerDied, the worker is replaced,
// and the rest go on.
//
//	go run ./examples/pool
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/pool"
)

// The pool's functions, registered in every process (package-level variables run in the
// parent, the manager child and each worker alike).
var (
	square = pool.Register("square", func(_ context.Context, x int) (int, error) { return x * x, nil })
	cube   = pool.Register("cube", func(_ context.Context, x int) (int, error) { return x * x * x, nil })
	crash  = pool.Register("crash", func(_ context.Context, x int) (int, error) {
		if x == 3 {
			os.Exit(3) // the worker dies mid-task
		}
		return x, nil
	})
)

func init() { mgr.RegisterWorker("client", client) }

// client is another process submitting to the pool through its proxy, as with Python's
// manager.Pool() handed to a Process.
func client(ctx context.Context, w *mgr.WorkerEnv) error {
	p, err := mgr.AttachArg(ctx, w, 0, pool.AttachPool)
	if err != nil {
		return err
	}
	xs := make([]int, 100)
	for i := range xs {
		xs[i] = i
	}
	cubes, err := pool.Map(ctx, p, cube, xs)
	if err != nil {
		return err
	}
	sum := 0
	for _, c := range cubes {
		sum += c
	}
	fmt.Printf("Another process: Map of %d cubes through the proxy, sum %d\n", len(cubes), sum)
	return nil
}

func main() {
	mgr.RunChild() // the manager, the pool's workers and the client are this binary
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	m, err := mgr.Start(ctx, mgr.Options{})
	if err != nil {
		return err
	}
	defer m.Shutdown(ctx)
	p, err := pool.Start(ctx, m.Client(), pool.Options{Workers: 2, MaxTasksPerChild: 100})
	if err != nil {
		return err
	}
	defer p.Terminate(ctx) // after Close it does nothing more

	xs := make([]int, 1000)
	for i := range xs {
		xs[i] = i
	}
	squares, err := pool.Map(ctx, p, square, xs) // chunks of 125: 8 tasks
	if err != nil {
		return err
	}
	sum := 0
	for _, s := range squares {
		sum += s
	}
	fmt.Printf("Map: %d squares, sum %d\n", len(squares), sum)

	fmt.Print("Imap:")
	for v, err := range pool.Imap(ctx, p, square, xs[:5]) {
		if err != nil {
			return err
		}
		fmt.Print(" ", v)
	}
	fmt.Println()

	a, err := pool.ApplyAsync(ctx, p, square, 12)
	if err != nil {
		return err
	}
	v, err := a.Get(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("ApplyAsync: 12² = %d\n", v)

	proc, err := m.Spawn(ctx, "client", p.Proxy())
	if err != nil {
		return err
	}
	if code, err := proc.Wait(ctx); code != 0 {
		return fmt.Errorf("client: exit %d: %v", code, err)
	}

	got, err := pool.Map(ctx, p, crash, xs[:6], pool.Chunksize(1))
	var te *pool.TaskError
	if !errors.As(err, &te) {
		return fmt.Errorf("the crashing task: %v", err)
	}
	fmt.Printf("Crash: item %d failed, ErrWorkerDied %v; the others gave %v\n", te.Index, errors.Is(err, pool.ErrWorkerDied), got)
	if v, err := pool.Apply(ctx, p, square, 7); err != nil {
		return err
	} else {
		// The survivor may answer before the owner has replaced the dead worker.
		for p.Restarts() == 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("the crashed worker was not replaced: %w", ctx.Err())
			case <-time.After(10 * time.Millisecond):
			}
		}
		fmt.Printf("After the crash: 7² = %d, %d worker(s) replaced\n", v, p.Restarts())
	}
	if err := p.Close(ctx); err != nil {
		return err
	}
	fmt.Println("Closed: every worker exited")
	return nil
}
