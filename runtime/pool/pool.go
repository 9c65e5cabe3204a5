package pool

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Pool is a pool's shared state, in the manager: the queue of tasks, the tasks each
// worker has claimed, and the results not yet fetched. It runs no code of its own; the
// owner's worker processes fetch tasks with Next and hand results back with the next
// Next, and submitters fetch results with Results. Use the functions of this package
// (Map, Apply, Imap, …) rather than these methods.
//
// A task is one chunk of a Map (or one Apply): the unit a worker claims, runs and
// reports, and the unit that fails or is retried when its worker dies. The pool learns of
// a dying worker from the manager: the worker's session ends (its connection closes when
// the process dies, however it dies), and whatever it had claimed is failed with
// ErrWorkerDied or, if the batch asked for retries, queued again at the front.
//
//mgr:expose typeid=pool.Pool concurrent inline
type Pool struct {
	size     int
	maxTasks int
	owner    uint64 // session that created the pool; 0 for the manager itself

	mu        sync.Mutex
	state     int   // stateOpen, stateClosing or stateTerminated
	why       error // why the pool was terminated
	nextBatch uint64
	batches   map[uint64]*batch
	queue     []chunkRef // queue[head:] waits for a worker
	head      int
	workers   map[uint64]*worker // by session ID
	watched   map[uint64]bool    // sessions whose end the pool watches
	workWake  chan struct{}      // closed (and replaced) when there is work or the state changed
	stopped   chan struct{}      // closed when the owner's workers have all exited
	stopOnce  sync.Once
	doneTasks uint64
}

const (
	stateOpen = iota
	stateClosing
	stateTerminated
)

// Task is one chunk handed to a worker.
type Task struct {
	Batch uint64
	Index int
	Func  string
	Args  []byte // the chunk's []A, encoded with the mgr binary codec
}

// Result is one chunk's outcome: the encoded results of its items, or Err when the
// chunk as a whole failed (its worker died, the function is not registered, the
// arguments could not be decoded).
type Result struct {
	Batch uint64
	Index int
	Out   []byte
	Err   error
}

// Stats is a snapshot of a pool.
type Stats struct {
	// Size is the number of worker processes the owner keeps running.
	Size int
	// MaxTasksPerChild is how many tasks a worker runs before it is replaced (0: no limit).
	MaxTasksPerChild int
	// Workers is how many worker processes are connected now.
	Workers int
	// Queued is how many tasks wait for a worker; Running how many are claimed.
	Queued, Running int
	// Done counts the tasks finished since the pool started.
	Done uint64
	// Batches counts the submissions whose results are not all fetched yet.
	Batches int
	// Closed and Terminated report CloseTasks and Terminate.
	Closed, Terminated bool
}

type chunkRef struct {
	batch uint64
	index int
}

type batch struct {
	id      uint64
	session uint64 // submitter
	fn      string
	chunks  [][]byte
	tries   []int
	done    []bool
	retries int
	left    int      // chunks with no outcome yet
	ready   []Result // outcomes not yet fetched
	wake    chan struct{}
}

type worker struct {
	pid   int
	claim *chunkRef
}

// NewPool returns the shared state of a pool of size workers, each replaced after
// maxTasksPerChild tasks (0: never). The creating session is the pool's owner: when it
// ends, the pool is terminated (its workers die with it anyway).
func NewPool(ctx context.Context, size, maxTasksPerChild int) (*Pool, error) {
	if size < 1 {
		return nil, fmt.Errorf("pool: size %d: a pool needs at least one worker", size)
	}
	if maxTasksPerChild < 0 {
		return nil, fmt.Errorf("pool: maxTasksPerChild %d is negative", maxTasksPerChild)
	}
	p := &Pool{
		size: size, maxTasks: maxTasksPerChild,
		batches: map[uint64]*batch{}, workers: map[uint64]*worker{}, watched: map[uint64]bool{},
		workWake: make(chan struct{}), stopped: make(chan struct{}),
	}
	c := mgr.CallerOf(ctx)
	p.owner = c.ID()
	if done := c.Done(); done != nil {
		go func() {
			<-done
			p.terminate(fmt.Errorf("%w: the owner's session with the manager ended", ErrTerminated))
			p.stopOnce.Do(func() { close(p.stopped) })
		}()
	}
	return p, nil
}

// watchLocked makes sure the pool hears of the end of the caller's session: its batches
// are dropped and, for a worker, its claimed task fails or is retried.
func (p *Pool) watchLocked(c mgr.Caller) {
	id, done := c.ID(), c.Done()
	if done == nil || p.watched[id] {
		return
	}
	p.watched[id] = true
	go func() {
		<-done
		p.sessionEnded(id)
	}()
}

func (p *Pool) wakeWorkersLocked() {
	close(p.workWake)
	p.workWake = make(chan struct{})
}

func (p *Pool) sessionEnded(id uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.watched, id)
	if w := p.workers[id]; w != nil {
		delete(p.workers, id)
		if ref := w.claim; ref != nil {
			if b := p.batches[ref.batch]; b != nil && !b.done[ref.index] {
				b.tries[ref.index]++
				if b.tries[ref.index] <= b.retries {
					p.pushFrontLocked(*ref)
				} else {
					p.finishLocked(b, Result{Batch: b.id, Index: ref.index, Err: fmt.Errorf(
						"%w (pid %d, whose session with the manager ended; %d attempt(s))",
						ErrWorkerDied, w.pid, b.tries[ref.index])})
				}
			}
		}
	}
	for bid, b := range p.batches {
		if b.session == id {
			delete(p.batches, bid) // queued chunks of it are skipped when popped
		}
	}
}

func (p *Pool) pushFrontLocked(ref chunkRef) {
	if p.head > 0 {
		p.head--
		p.queue[p.head] = ref
	} else {
		p.queue = append([]chunkRef{ref}, p.queue...)
	}
	p.wakeWorkersLocked()
}

// finishLocked records a chunk's outcome for its submitter.
func (p *Pool) finishLocked(b *batch, r Result) {
	if b.done[r.Index] {
		return
	}
	b.done[r.Index] = true
	b.chunks[r.Index] = nil
	b.left--
	b.ready = append(b.ready, r)
	p.doneTasks++
	close(b.wake)
	b.wake = make(chan struct{})
}

func (p *Pool) closedErrLocked() error {
	if p.state == stateTerminated {
		return p.why
	}
	return fmt.Errorf("%w: CloseTasks was called", ErrClosed)
}

// Submit queues a batch for fn and returns the batch's ID. The batch's chunks are
// items cut at ends: chunk i is items[ends[i-1]:ends[i]] (from 0 for the first), each
// the encoding of a []A. One buffer for all the chunks, rather than a [][]byte, is one
// allocation and one copy on each side: a Map of 100,000 ints grew the call's buffer
// eight times. A chunk whose worker dies is queued again up to retries times.
func (p *Pool) Submit(ctx context.Context, fn string, items []byte, ends []int, retries int) (uint64, error) {
	chunks := make([][]byte, len(ends))
	lo := 0
	for i, hi := range ends {
		if hi < lo || hi > len(items) {
			return 0, fmt.Errorf("pool: submit %q: chunk %d ends at byte %d, outside %d..%d", fn, i, hi, lo, len(items))
		}
		chunks[i] = items[lo:hi:hi]
		lo = hi
	}
	if lo != len(items) {
		return 0, fmt.Errorf("pool: submit %q: %d bytes after the last chunk", fn, len(items)-lo)
	}
	c := mgr.CallerOf(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != stateOpen {
		return 0, p.closedErrLocked()
	}
	p.watchLocked(c)
	p.nextBatch++
	b := &batch{
		id: p.nextBatch, session: c.ID(), fn: fn, chunks: chunks, retries: max(retries, 0),
		tries: make([]int, len(chunks)), done: make([]bool, len(chunks)), left: len(chunks),
		wake: make(chan struct{}),
	}
	p.batches[b.id] = b
	for i := range chunks {
		p.queue = append(p.queue, chunkRef{b.id, i})
	}
	if len(chunks) > 0 {
		p.wakeWorkersLocked()
	}
	return b.id, nil
}

// Results returns the outcomes of batch id's chunks finished since the last call, in
// the order they finished, and whether more are to come. With wait it blocks until at
// least one is there (or none is to come). A batch is forgotten once its last outcome
// has been fetched.
func (p *Pool) Results(ctx context.Context, id uint64, wait bool) ([]Result, bool, error) {
	for {
		p.mu.Lock()
		b := p.batches[id]
		if b == nil {
			p.mu.Unlock()
			return nil, false, fmt.Errorf("%w: batch %d is unknown (cancelled, fetched completely, or its submitter's session ended)", ErrCancelled, id)
		}
		if len(b.ready) > 0 || b.left == 0 || !wait {
			rs := slices.Clip(b.ready[:replyCount(b.ready)]) // appending to rs must not overwrite b.ready
			b.ready = b.ready[len(rs):]
			if len(b.ready) == 0 {
				b.ready = nil
			}
			more := b.left > 0 || len(b.ready) > 0
			if !more {
				delete(p.batches, id)
			}
			p.mu.Unlock()
			if len(rs) > 0 {
				// The caller gave up before it got the reply: keep the outcomes for its
				// next call.
				mgr.Undo(ctx, func() {
					p.mu.Lock()
					defer p.mu.Unlock()
					if !more {
						p.batches[id] = b
					}
					b.ready = append(rs, b.ready...)
					close(b.wake)
					b.wake = make(chan struct{})
				})
			}
			return rs, more, nil
		}
		ch := b.wake
		p.mu.Unlock()
		mgr.Blocking(ctx)
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, true, ctx.Err()
		}
	}
}

// replyBytes bounds the outcomes one Results reply carries (it carries one at least):
// the manager and the submitter each reuse reply buffers of up to 64 KiB, and a reply
// past that is a fresh buffer on both sides, grown in steps as the outcomes are
// appended — most of the manager's allocations during a Map of 100,000 ints, which
// fetched two or three 62 KB outcomes at a time. Another round trip for the rest costs
// less.
const replyBytes = 48 << 10

// replyCount is how many of rs (at least one, if any) the next reply carries.
func replyCount(rs []Result) int {
	size := 0
	for i, r := range rs {
		size += len(r.Out)
		if i > 0 && size > replyBytes {
			return i
		}
	}
	return len(rs)
}

// Cancel drops batch id: its queued chunks are not run, and its outcomes are discarded.
func (p *Pool) Cancel(ctx context.Context, id uint64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.batches, id)
	return nil
}

// Next is a worker's loop step: it records the outcomes of the tasks the worker has
// finished, then, if want, waits for a task and claims it for the worker's session.
// When the pool is closed and its queue is empty, or terminated, Next returns an error
// wrapping ErrClosed or ErrTerminated and the worker exits.
func (p *Pool) Next(ctx context.Context, pid int, done []Result, want bool) ([]Task, error) {
	c := mgr.CallerOf(ctx)
	id := c.ID()
	p.mu.Lock()
	p.watchLocked(c)
	w := p.workers[id]
	if w == nil {
		w = &worker{pid: pid}
		p.workers[id] = w
	}
	for _, r := range done {
		if w.claim != nil && *w.claim == (chunkRef{r.Batch, r.Index}) {
			w.claim = nil
		}
		if b := p.batches[r.Batch]; b != nil && r.Index >= 0 && r.Index < len(b.done) {
			p.finishLocked(b, r)
		}
	}
	p.mu.Unlock()
	if !want {
		return nil, nil
	}
	for {
		p.mu.Lock()
		if p.state == stateTerminated {
			p.mu.Unlock()
			return nil, p.why
		}
		for p.head < len(p.queue) {
			ref := p.queue[p.head]
			p.queue[p.head] = chunkRef{}
			p.head++
			if p.head == len(p.queue) {
				p.queue, p.head = p.queue[:0], 0
			}
			b := p.batches[ref.batch]
			if b == nil || b.done[ref.index] {
				continue // cancelled, or finished by a retry's first attempt
			}
			w.claim = &ref
			t := Task{Batch: b.id, Index: ref.index, Func: b.fn, Args: b.chunks[ref.index]}
			p.mu.Unlock()
			mgr.Undo(ctx, func() { // the worker never got the task: someone else runs it
				p.mu.Lock()
				defer p.mu.Unlock()
				if w.claim != nil && *w.claim == ref {
					w.claim = nil
					p.pushFrontLocked(ref)
				}
			})
			return []Task{t}, nil
		}
		if p.state == stateClosing {
			p.mu.Unlock()
			return nil, fmt.Errorf("%w: no tasks left", ErrClosed)
		}
		ch := p.workWake
		p.mu.Unlock()
		mgr.Blocking(ctx)
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// CloseTasks is Python's Pool.close(): the pool accepts no more tasks; the queued ones
// still run, and the workers exit once the queue is empty.
func (p *Pool) CloseTasks(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == stateOpen {
		p.state = stateClosing
		p.wakeWorkersLocked()
	}
	return nil
}

// Terminate is Python's Pool.terminate(): queued and running tasks fail with
// ErrTerminated and the workers exit (the owner kills those still running).
func (p *Pool) Terminate(ctx context.Context) error {
	p.terminate(fmt.Errorf("%w: Terminate was called", ErrTerminated))
	return nil
}

func (p *Pool) terminate(why error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == stateTerminated {
		return
	}
	p.state, p.why = stateTerminated, why
	p.queue, p.head = nil, 0
	for _, b := range p.batches {
		for i, d := range b.done {
			if !d {
				p.finishLocked(b, Result{Batch: b.id, Index: i, Err: why})
			}
		}
	}
	p.wakeWorkersLocked()
}

// Join is Python's Pool.join(): it waits until the owner reports that every worker
// process has exited (after CloseTasks or Terminate), or the owner's session ended.
func (p *Pool) Join(ctx context.Context) error {
	select {
	case <-p.stopped:
		return nil
	default:
	}
	mgr.Blocking(ctx)
	select {
	case <-p.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WorkersStopped is the owner's report that its worker processes have all exited and
// none will be started again; it releases Join.
func (p *Pool) WorkersStopped(ctx context.Context) error {
	if id := mgr.CallerOf(ctx).ID(); id != p.owner {
		return fmt.Errorf("%w: session %d is not the pool's owner (session %d)", ErrNotOwner, id, p.owner)
	}
	p.stopOnce.Do(func() { close(p.stopped) })
	return nil
}

// Stats returns a snapshot of the pool.
func (p *Pool) Stats(ctx context.Context) (Stats, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{
		Size: p.size, MaxTasksPerChild: p.maxTasks, Workers: len(p.workers),
		Queued: len(p.queue) - p.head, Done: p.doneTasks, Batches: len(p.batches),
		Closed: p.state != stateOpen, Terminated: p.state == stateTerminated,
	}
	for _, w := range p.workers {
		if w.claim != nil {
			s.Running++
		}
	}
	return s, nil
}
