package pool

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Options configure a pool started with Start.
type Options struct {
	// Workers is the number of worker processes; 0 means runtime.NumCPU().
	Workers int
	// MaxTasksPerChild is how many tasks (chunks) a worker runs before it exits and is
	// replaced by a fresh one (Python's maxtasksperchild); 0 means no limit.
	MaxTasksPerChild int
	// Logf receives the owner's diagnostics (a replacement worker that failed to start);
	// nil discards them.
	Logf func(format string, args ...any)
}

// Owner is the process that started a pool: it owns the worker processes, starts a new
// one whenever one exits while the pool still has work (a crash, a kill, or
// MaxTasksPerChild), and stops them on Close or Terminate. The workers are children of
// this process and die with it; the pool in the manager is terminated when this
// process's session ends.
type Owner struct {
	c    *mgr.Client
	p    *PoolProxy
	opts Options

	mu       sync.Mutex
	procs    map[*mgr.Process]bool
	starting int  // spawns in progress
	stopping bool // Close or Terminate called: start no more workers
	restarts int
	exited   chan struct{} // closed once every worker has exited and none will start
	once     sync.Once
	// buf is lent to one submission at a time to encode its items into (client.go): a
	// Map of 100,000 ints encodes to 300 KB, fresh memory each time otherwise.
	buf []byte
}

// Start creates a pool in c's manager and starts its worker processes (this binary,
// re-executed: main must call mgr.RunChild first). It returns once every worker is
// connected.
func Start(ctx context.Context, c *mgr.Client, opts Options) (*Owner, error) {
	if opts.Workers <= 0 {
		opts.Workers = runtime.NumCPU()
	}
	p, err := CreatePool(ctx, c, opts.Workers, opts.MaxTasksPerChild)
	if err != nil {
		return nil, fmt.Errorf("pool: create: %w", err)
	}
	o := &Owner{c: c, p: p, opts: opts, procs: map[*mgr.Process]bool{}, exited: make(chan struct{})}
	for range opts.Workers {
		o.mu.Lock()
		o.starting++
		o.mu.Unlock()
		if err := o.spawn(ctx); err != nil {
			o.Terminate(context.WithoutCancel(ctx))
			return nil, err
		}
	}
	return o, nil
}

func (o *Owner) poolProxy() *PoolProxy                 { return o.p }
func (o *Owner) poolSize(context.Context) (int, error) { return o.opts.Workers, nil }

func (o *Owner) takeBuf() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.buf
	o.buf = nil
	return b
}

// maxKeptBuf bounds the buffer the Owner keeps between submissions.
const maxKeptBuf = 4 << 20

func (o *Owner) putBuf(b []byte) {
	if cap(b) > maxKeptBuf {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if cap(b) > cap(o.buf) {
		o.buf = b
	}
}

// Proxy returns the pool's proxy, to hand to other processes (a Spawn argument, a Token,
// a value in a shared container). It stays owned by the Owner: do not Close it.
func (o *Owner) Proxy() *PoolProxy { return o.p }

// PIDs returns the process IDs of the running workers.
func (o *Owner) PIDs() []int {
	o.mu.Lock()
	defer o.mu.Unlock()
	pids := make([]int, 0, len(o.procs))
	for p := range o.procs {
		pids = append(pids, p.PID())
	}
	return pids
}

// Restarts returns how many workers were started to replace ones that exited.
func (o *Owner) Restarts() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.restarts
}

// spawn starts one worker; o.starting was counted for it by the caller.
func (o *Owner) spawn(ctx context.Context) error {
	proc, err := o.c.Spawn(ctx, workerEntry, o.p, o.opts.MaxTasksPerChild)
	o.mu.Lock()
	o.starting--
	if err == nil {
		o.procs[proc] = true
	}
	o.mu.Unlock()
	if err != nil {
		o.maybeExited()
		return fmt.Errorf("pool: start worker: %w", err)
	}
	go o.watch(proc)
	return nil
}

// watch waits for a worker to exit and starts its replacement if the pool still has
// work for it.
func (o *Owner) watch(proc *mgr.Process) {
	<-proc.Done()
	o.mu.Lock()
	delete(o.procs, proc)
	stopping := o.stopping
	o.mu.Unlock()
	if !stopping && o.needsWorker() {
		o.mu.Lock()
		if !o.stopping {
			o.starting++
			o.restarts++
			o.mu.Unlock()
			go o.respawn()
			return
		}
		o.mu.Unlock()
	}
	o.maybeExited()
}

// needsWorker asks the pool whether a replacement has anything to do: not when it is
// terminated, nor when it is closed with nothing queued.
func (o *Owner) needsWorker() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := o.p.Stats(ctx)
	if err != nil {
		return false // the manager is gone, or the client closed
	}
	return !s.Terminated && (!s.Closed || s.Queued > 0)
}

func (o *Owner) respawn() {
	for delay := 50 * time.Millisecond; ; delay = min(2*delay, 2*time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := o.spawn(ctx)
		cancel()
		if err == nil {
			return
		}
		if o.opts.Logf != nil {
			o.opts.Logf("pool: replace a worker: %v", err)
		}
		o.mu.Lock()
		give := o.stopping || o.c.Err() != nil
		if !give {
			o.starting++
		}
		o.mu.Unlock()
		if give {
			return
		}
		time.Sleep(delay)
	}
}

// maybeExited reports the end of the workers once none runs and none will start.
func (o *Owner) maybeExited() {
	o.mu.Lock()
	idle := len(o.procs) == 0 && o.starting == 0
	stopping := o.stopping
	o.mu.Unlock()
	if !idle || (!stopping && o.needsWorker()) {
		return
	}
	o.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = o.p.WorkersStopped(ctx) // fails only when the manager is gone
		close(o.exited)
	})
}

// Exited is closed once every worker has exited and none will be started again.
func (o *Owner) Exited() <-chan struct{} { return o.exited }

// Close is Python's close() followed by join(): the pool accepts no more tasks, the
// queued ones run, the workers exit, and Close returns when they have (or ctx ends);
// then it drops the Owner's reference to the pool.
func (o *Owner) Close(ctx context.Context) error {
	err := o.p.CloseTasks(ctx)
	if err == nil {
		err = o.Join(ctx)
	}
	o.mu.Lock()
	o.stopping = true
	o.mu.Unlock()
	if err != nil {
		return err
	}
	return o.p.Close(ctx)
}

// Terminate is Python's terminate(): queued and running tasks fail with ErrTerminated,
// the workers are killed, and Terminate returns once they have exited (or ctx ends);
// then it drops the Owner's reference to the pool.
func (o *Owner) Terminate(ctx context.Context) error {
	o.mu.Lock()
	o.stopping = true
	procs := make([]*mgr.Process, 0, len(o.procs))
	for p := range o.procs {
		procs = append(procs, p)
	}
	o.mu.Unlock()
	err := o.p.Terminate(ctx)
	for _, p := range procs {
		p.Kill()
	}
	o.maybeExited()
	if jerr := o.Join(ctx); err == nil {
		err = jerr
	}
	if cerr := o.p.Close(ctx); err == nil && !errors.Is(cerr, mgr.ErrReleased) {
		err = cerr
	}
	return err
}

// Join waits until every worker has exited after CloseTasks or Terminate (by this or
// any process), or ctx ends.
func (o *Owner) Join(ctx context.Context) error {
	select {
	case <-o.exited:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("pool: join: %w", ctx.Err())
	}
}
