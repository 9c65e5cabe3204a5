// Prodcons is seed 002's producer/consumer coordination: one producer process and two
// consumer processes share a queue, an event that says "production is over", and a
// dict of statistics.
//
//	go run ./examples/prodcons
package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

const numItems = 5

func init() {
	mgr.RegisterWorker("producer", producer)
	mgr.RegisterWorker("consumer", consumer)
}

// producer puts numItems items on the queue, counting them in stats, then sets done.
func producer(ctx context.Context, w *mgr.WorkerEnv) error {
	queue, err := mgr.AttachArg(ctx, w, 0, syncmgr.AttachQueue[string])
	if err != nil {
		return err
	}
	done, err := mgr.AttachArg(ctx, w, 1, syncmgr.AttachEvent)
	if err != nil {
		return err
	}
	stats, err := mgr.AttachArg(ctx, w, 2, syncmgr.AttachDict[string, int])
	if err != nil {
		return err
	}
	for i := range numItems {
		item := fmt.Sprintf("item_%d", i)
		if err := queue.Put(ctx, item); err != nil {
			return err
		}
		// AddNumber is one call, atomic in the manager: no read-modify-write race
		// between processes (Python's stats['produced'] = stats.get(...) + 1 has one).
		if _, err := stats.AddNumber(ctx, "produced", 1); err != nil {
			return err
		}
		fmt.Printf("Produced: %s\n", item)
		time.Sleep(time.Duration(10+rand.IntN(20)) * time.Millisecond) // uneven production
	}
	return done.Set(ctx)
}

// consumer takes items until the producer is done and the queue is empty.
func consumer(ctx context.Context, w *mgr.WorkerEnv) error {
	queue, err := mgr.AttachArg(ctx, w, 0, syncmgr.AttachQueue[string])
	if err != nil {
		return err
	}
	done, err := mgr.AttachArg(ctx, w, 1, syncmgr.AttachEvent)
	if err != nil {
		return err
	}
	stats, err := mgr.AttachArg(ctx, w, 2, syncmgr.AttachDict[string, int])
	if err != nil {
		return err
	}
	id, err := mgr.WorkerArg[int](w, 3)
	if err != nil {
		return err
	}
	key := fmt.Sprintf("consumer_%d", id)
	for {
		item, err := queue.GetTimeout(ctx, 50*time.Millisecond)
		if errors.Is(err, syncmgr.ErrEmpty) {
			finished, err := done.IsSet(ctx)
			if err != nil {
				return err
			}
			if !finished {
				continue
			}
			// Every item was put before the event was set, so an empty queue now
			// means there is nothing left.
			if item, err = queue.GetNowait(ctx); errors.Is(err, syncmgr.ErrEmpty) {
				return nil
			}
		}
		if err != nil {
			return err
		}
		if _, err := stats.AddNumber(ctx, key, 1); err != nil {
			return err
		}
		fmt.Printf("Consumer %d consumed: %s\n", id, item)
	}
}

func main() {
	mgr.RunChild() // first: a manager or worker process runs its role here and exits

	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "prodcons:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	m, err := syncmgr.Start(ctx, mgr.Options{})
	if err != nil {
		return err
	}
	defer m.Shutdown(context.Background())
	c := m.Client()

	queue, err := syncmgr.CreateQueue[string](ctx, c, 0)
	if err != nil {
		return err
	}
	done, err := syncmgr.CreateEvent(ctx, c)
	if err != nil {
		return err
	}
	stats, err := syncmgr.CreateDict[string, int](ctx, c)
	if err != nil {
		return err
	}

	var procs []*mgr.Process
	p, err := m.Spawn(ctx, "producer", queue, done, stats)
	if err != nil {
		return err
	}
	procs = append(procs, p)
	for i := range 2 {
		p, err := m.Spawn(ctx, "consumer", queue, done, stats, i)
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

	final, err := stats.Copy(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("Final stats: %v\n", final)
	return nil
}
