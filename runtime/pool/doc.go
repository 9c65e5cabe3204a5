// Package pool is Python's multiprocessing.Pool (and manager.Pool()) for mgr: a pool of
// worker processes, started and replaced by the process that owns the pool, running
// functions registered by name, fed through a shared Pool object in the manager that
// any process can submit to through its proxy.
//
//	var square = pool.Register("square", func(ctx context.Context, x int) (int, error) {
//		return x * x, nil
//	})
//
//	func main() {
//		mgr.RunChild() // the manager and the pool's workers are this binary
//		m, _ := mgr.Start(ctx, mgr.Options{})
//		defer m.Shutdown(ctx)
//		p, _ := pool.Start(ctx, m.Client(), pool.Options{Workers: 4})
//		defer p.Close(ctx)
//		squares, err := pool.Map(ctx, p, square, []int{1, 2, 3}) // [1 4 9]
//	}
//
// # How it works
//
// The Pool object in the manager holds a queue of tasks (a task is one chunk of a Map,
// or one Apply) and the results not yet fetched. Each worker process runs a loop: claim
// a task (Pool.Next), run it, hand the result back with the next claim — one round trip
// per task. Submitters send their items as encoded chunks in one call (Pool.Submit) and
// fetch outcomes as they finish (Pool.Results). Items and results travel with mgr's
// binary codec (mgr.Encoder.Value), not JSON; a custom Options.Codec of the manager
// does not apply to them.
//
// A Map's cost is mostly encoding, decoding and memory, on a machine where the owner,
// the manager and the workers share the cores, so the hot path allocates little: the
// chunks are encoded into one buffer, a worker keeps its argument, result and output
// buffers from one chunk to the next, and Map decodes each chunk's results in place
// into the slice it returns (mgr.DecodeSliceInto).
//
// # Crashes, maxtasksperchild and shutdown
//
// A task a worker has claimed is known to the manager: when the worker's session ends
// (the process was killed, crashed or called os.Exit; the manager sees its connection
// close at once), the task fails with ErrWorkerDied — or runs again on another worker if
// the caller asked with Retries. The owner waits on every worker process and starts a
// replacement when one exits while the pool has work, which is also how
// MaxTasksPerChild works: a worker exits after that many tasks and a fresh one takes
// its place.
//
// The workers are child processes of the owner and die with it, however it dies; the
// manager then terminates the Pool object (every pending task fails with
// ErrTerminated), since nothing would ever run its tasks.
//
// # Limits
//
// A submission travels in one call, so its encoded items must fit in the manager's
// frame limit (mgr.Options.MaxFrame, 16 MiB by default); split larger ones. Python's
// starmap has no counterpart: make the argument type a struct.
package pool

//go:generate go tool mgrgen
