// Workqueue is seed 002's work distribution: a distributor process puts tasks on a
// shared queue, three worker processes take them, compute, and store results in a
// shared dict, and a nil task per worker (the sentinel) tells each worker to stop.
//
//	go run ./examples/workqueue
package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// Task is one unit of work.
type Task struct {
	ID        int
	Data      int
	Operation string // "square", "cube" or "double"
}

// Result is what a worker made of a Task.
type Result struct {
	Input     int
	Operation string
	Result    int
	Worker    int
}

const (
	numTasks   = 15
	numWorkers = 3
)

func init() {
	// Generic shared types need one registration per instantiation, in every process:
	// init runs in the manager and worker processes too, since they are this binary.
	syncmgr.RegisterQueue[*Task]()
	syncmgr.RegisterDict[int, Result]()

	mgr.RegisterWorker("distributor", distributor)
	mgr.RegisterWorker("processor", processor)
}

// distributor puts numTasks random tasks on the queue, then one nil per worker.
func distributor(ctx context.Context, w *mgr.WorkerEnv) error {
	tasks, err := mgr.AttachArg(ctx, w, 0, syncmgr.AttachQueue[*Task])
	if err != nil {
		return err
	}
	ops := []string{"square", "cube", "double"}
	for i := range numTasks {
		t := &Task{ID: i, Data: rand.IntN(100) + 1, Operation: ops[rand.IntN(len(ops))]}
		if err := tasks.Put(ctx, t); err != nil {
			return err
		}
	}
	for range numWorkers {
		if err := tasks.Put(ctx, nil); err != nil {
			return err
		}
	}
	fmt.Printf("Distributor (pid %d): queued %d tasks and %d stop signals\n", os.Getpid(), numTasks, numWorkers)
	return nil
}

// processor takes tasks until it gets nil.
func processor(ctx context.Context, w *mgr.WorkerEnv) error {
	tasks, err := mgr.AttachArg(ctx, w, 0, syncmgr.AttachQueue[*Task])
	if err != nil {
		return err
	}
	results, err := mgr.AttachArg(ctx, w, 1, syncmgr.AttachDict[int, Result])
	if err != nil {
		return err
	}
	id, err := mgr.WorkerArg[int](w, 2)
	if err != nil {
		return err
	}
	for {
		t, err := tasks.Get(ctx) // blocks in the manager until a task comes
		if err != nil {
			return err
		}
		if t == nil {
			return nil
		}
		r := Result{Input: t.Data, Operation: t.Operation, Worker: id}
		switch t.Operation {
		case "square":
			r.Result = t.Data * t.Data
		case "cube":
			r.Result = t.Data * t.Data * t.Data
		default:
			r.Result = t.Data * 2
		}
		if err := results.Set(ctx, t.ID, r); err != nil {
			return err
		}
		fmt.Printf("Worker %d (pid %d): processed task %d\n", id, os.Getpid(), t.ID)
	}
}

func main() {
	mgr.RunChild() // first: a manager or worker process runs its role here and exits

	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "workqueue:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	m, err := syncmgr.Start(ctx, mgr.Options{})
	if err != nil {
		return err
	}
	defer m.Shutdown(context.Background())

	tasks, err := syncmgr.CreateQueue[*Task](ctx, m.Client(), 0)
	if err != nil {
		return err
	}
	results, err := syncmgr.CreateDict[int, Result](ctx, m.Client())
	if err != nil {
		return err
	}

	// Workers first, so they are waiting on the queue when the tasks arrive.
	var procs []*mgr.Process
	for i := range numWorkers {
		p, err := m.Spawn(ctx, "processor", tasks, results, i)
		if err != nil {
			return err
		}
		procs = append(procs, p)
	}
	d, err := m.Spawn(ctx, "distributor", tasks)
	if err != nil {
		return err
	}
	procs = append(procs, d)
	for _, p := range procs {
		if _, err := p.Wait(ctx); err != nil {
			return err
		}
	}

	all, err := results.Copy(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("Processed %d tasks:\n", len(all))
	ids := make([]int, 0, len(all))
	for id := range all {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		r := all[id]
		fmt.Printf("Task %d: %d %s = %d (worker %d)\n", id, r.Input, r.Operation, r.Result, r.Worker)
	}
	return nil
}
