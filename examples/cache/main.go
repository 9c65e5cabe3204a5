// Cache is seed 002's shared cache: four worker processes share one dictionary in the
// manager, and use a shared lock so that a value is computed once, by whichever worker
// misses first.
//
//	go run ./examples/cache
//
// The manager is a child process; the Dict and the Lock are syncmgr's ready-made
// shared types, handed to each worker as proxies.
package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

func init() {
	mgr.RegisterWorker("cache-worker", cacheWorker)
}

// cacheWorker looks up 5 random keys; on a miss it "computes" the value and stores it.
// The lock makes the check and the store one step, so no two workers compute one key.
func cacheWorker(ctx context.Context, w *mgr.WorkerEnv) error {
	cache, err := mgr.AttachArg(ctx, w, 0, syncmgr.AttachDict[string, int])
	if err != nil {
		return err
	}
	lock, err := mgr.AttachArg(ctx, w, 1, syncmgr.AttachLock)
	if err != nil {
		return err
	}
	id, err := mgr.WorkerArg[int](w, 2)
	if err != nil {
		return err
	}
	for range 5 {
		key := fmt.Sprintf("key_%d", rand.IntN(10)+1)
		err := syncmgr.WithLock(ctx, lock, func() error {
			value, ok, err := cache.Get(ctx, key)
			if err != nil {
				return err
			}
			if ok {
				fmt.Printf("Worker %d: cache hit for %s = %d\n", id, key, value)
				return nil
			}
			value = expensiveComputation()
			if err := cache.Set(ctx, key, value); err != nil {
				return err
			}
			fmt.Printf("Worker %d: cache miss, computed %s = %d\n", id, key, value)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// expensiveComputation stands for real work worth caching.
func expensiveComputation() int {
	time.Sleep(5 * time.Millisecond)
	return rand.IntN(900) + 100
}

func main() {
	mgr.RunChild() // first: a manager or worker process runs its role here and exits

	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "cache:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	m, err := syncmgr.Start(ctx, mgr.Options{})
	if err != nil {
		return err
	}
	defer m.Shutdown(context.Background())

	cache, err := syncmgr.CreateDict[string, int](ctx, m.Client())
	if err != nil {
		return err
	}
	lock, err := syncmgr.CreateLock(ctx, m.Client())
	if err != nil {
		return err
	}

	var procs []*mgr.Process
	for i := range 4 {
		p, err := m.Spawn(ctx, "cache-worker", cache, lock, i)
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

	contents, err := cache.Copy(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("Final cache contents (%d keys): %v\n", len(contents), contents)
	return nil
}
