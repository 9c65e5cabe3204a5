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

// runner runs one chunk: it decodes a []A, calls the function on each item, and encodes
// the results and per-item errors.
type runner func(ctx context.Context, args []byte) ([]byte, error)

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
	run := func(ctx context.Context, args []byte) ([]byte, error) {
		var xs []A
		d := mgr.NewDecoder(args)
		d.Value(&xs)
		if err := d.Done(); err != nil {
			return nil, fmt.Errorf("pool: decode the arguments of %q as %T: %w", name, xs, err)
		}
		rs := make([]R, len(xs))
		type failure struct {
			i   int
			err error
		}
		var fails []failure
		for i, x := range xs {
			r, err := call(ctx, fn, x)
			if err != nil {
				fails = append(fails, failure{i, err})
				continue
			}
			rs[i] = r
		}
		e := mgr.NewEncoder(nil)
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

func call[A, R any](ctx context.Context, fn func(context.Context, A) (R, error), x A) (r R, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
		}
	}()
	return fn(ctx, x)
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
	for n := 0; ; {
		want := maxTasks == 0 || n < maxTasks
		tasks, err := p.Next(ctx, pid, done, want)
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
		for _, t := range tasks {
			done = append(done, runTask(ctx, t))
			n++
		}
	}
}

func runTask(ctx context.Context, t Task) Result {
	r := Result{Batch: t.Batch, Index: t.Index}
	run := lookupFunc(t.Func)
	if run == nil {
		r.Err = fmt.Errorf("%w: %q (pid %d)", ErrUnknownFunc, t.Func, os.Getpid())
		return r
	}
	r.Out, r.Err = run(ctx, t.Args)
	return r
}
