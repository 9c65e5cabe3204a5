package pool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Func names a function registered with Register, with its argument and result types,
// so that Map, Apply and the rest are type-checked at compile time. The zero Func names
// nothing.
type Func[A, R any] struct{ name string }

// Name returns the name the function was registered as.
func (f Func[A, R]) Name() string { return f.name }

// Named returns the Func registered as name in the worker processes, for a program that
// submits tasks but does not run them (it need not link the function). A and R must be
// the types the function was registered with: the workers decode the arguments as
// theirs, and a mismatch fails each task with a decoding error.
func Named[A, R any](name string) Func[A, R] { return Func[A, R]{name: name} }

// runner runs one chunk: it decodes a []A, calls the function on each item, and appends
// the encoded results and per-item errors to out (a buffer the worker reuses).
type runner func(ctx context.Context, args, out []byte) ([]byte, error)

var funcs = struct {
	sync.RWMutex
	byName map[string]runner
}{byName: map[string]runner{}}

// Register registers fn as the pool function called name and returns its Func. Worker
// processes are this binary started afresh and find fn by name, so register from a
// package-level variable or an init function, never after mgr.RunChild:
//
//	var square = pool.Register("square", func(ctx context.Context, x int) (int, error) {
//		return x * x, nil
//	})
//
// Arguments and results travel with mgr's binary codec (the same rules as method
// arguments: exported struct fields, slices, maps, …). A panic in fn fails that item
// with the panic's value and stack; the worker goes on. Registering a name again
// replaces the function.
func Register[A, R any](name string, fn func(context.Context, A) (R, error)) Func[A, R] {
	if name == "" || fn == nil {
		panic("pool: Register needs a name and a function")
	}
	// A worker runs chunk after chunk: the argument and result slices of one are kept
	// for the next (cleared, so they hold on to nothing), not allocated per chunk.
	var scratch sync.Pool
	run := func(ctx context.Context, args, out []byte) ([]byte, error) {
		sc, _ := scratch.Get().(*chunkScratch[A, R])
		if sc == nil {
			sc = new(chunkScratch[A, R])
		}
		defer scratch.Put(sc)
		d := mgr.NewDecoder(args)
		xs := mgr.DecodeSliceInto(d, sc.xs[:0])
		if err := d.Done(); err != nil {
			return nil, fmt.Errorf("pool: decode the arguments of %q as %T: %w", name, xs, err)
		}
		sc.xs = xs
		defer clear(xs)
		if cap(sc.rs) < len(xs) {
			sc.rs = make([]R, len(xs))
		}
		rs := sc.rs[:len(xs)]
		defer clear(rs)
		var fails []failure
		for i := 0; i < len(xs); {
			i = runItems(ctx, fn, xs, rs, i, &fails)
		}
		e := mgr.NewEncoder(out)
		e.Value(rs)
		e.Len(len(fails))
		for _, f := range fails {
			e.Int64(int64(f.i))
			e.Error(f.err)
		}
		if err := e.Err(); err != nil {
			return nil, fmt.Errorf("pool: encode the results of %q: %w", name, err)
		}
		return e.Bytes(), nil
	}
	funcs.Lock()
	funcs.byName[name] = run
	funcs.Unlock()
	return Func[A, R]{name: name}
}

// chunkScratch is what a runner keeps from one chunk to the next.
type chunkScratch[A, R any] struct {
	xs []A
	rs []R
}

// failure is one item's error.
type failure struct {
	i   int
	err error
}

// runItems calls fn on xs[i:] into rs until the end or a panic, and returns where to go
// on: one deferred recover for the run rather than one per item, which cost as much as
// a small function itself. A panic fails its item with the panic's value and stack.
func runItems[A, R any](ctx context.Context, fn func(context.Context, A) (R, error), xs []A, rs []R, i int, fails *[]failure) (next int) {
	defer func() {
		if v := recover(); v != nil {
			*fails = append(*fails, failure{i, fmt.Errorf("panic: %v\n%s", v, debug.Stack())})
			next = i + 1
		}
	}()
	for ; i < len(xs); i++ {
		r, err := fn(ctx, xs[i])
		if err != nil {
			*fails = append(*fails, failure{i, err})
			continue
		}
		rs[i] = r
	}
	return i
}

func lookupFunc(name string) runner {
	funcs.RLock()
	defer funcs.RUnlock()
	return funcs.byName[name]
}

// workerEntry is the mgr worker entry that pool worker processes run.
const workerEntry = "github.com/mgr-go/mgr/runtime/pool.worker"

func init() { mgr.RegisterWorker(workerEntry, workerMain) }

// workerMain is a pool worker: it claims one task at a time, runs it, and hands the
// result back with its next claim, until the pool is closed or terminated, or it has
// run its maxtasksperchild tasks (then it exits and the owner starts another).
func workerMain(ctx context.Context, w *mgr.WorkerEnv) error {
	p, err := mgr.AttachArg(ctx, w, 0, AttachPool)
	if err != nil {
		return err
	}
	maxTasks, err := mgr.WorkerArg[int](w, 1)
	if err != nil {
		return err
	}
	pid := os.Getpid()
	var done []Result
	// outs[i] is the buffer done[i]'s results were encoded into: free again once Next
	// has sent them, so the next tasks' results reuse it.
	var outs [][]byte
	for n := 0; ; {
		want := maxTasks == 0 || n < maxTasks
		tasks, err := p.Next(ctx, pid, done, want)
		for i := range done {
			if done[i].Out != nil {
				outs[i] = done[i].Out[:0]
			}
		}
		clear(done)
		done = done[:0]
		switch {
		case err == nil:
		case errors.Is(err, ErrClosed), errors.Is(err, ErrTerminated), ctx.Err() != nil:
			return nil
		default:
			return fmt.Errorf("pool worker: %w", err)
		}
		if !want {
			return nil
		}
		for i, t := range tasks {
			if i == len(outs) {
				outs = append(outs, nil)
			}
			done = append(done, runTask(ctx, t, outs[i]))
			n++
		}
	}
}

func runTask(ctx context.Context, t Task, out []byte) Result {
	r := Result{Batch: t.Batch, Index: t.Index}
	run := lookupFunc(t.Func)
	if run == nil {
		r.Err = fmt.Errorf("%w: %q (pid %d)", ErrUnknownFunc, t.Func, os.Getpid())
		return r
	}
	r.Out, r.Err = run(ctx, t.Args, out)
	return r
}
