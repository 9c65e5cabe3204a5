package pool

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Target is what tasks are submitted to: the *Owner that started the pool, or a
// *PoolProxy to it in any process.
type Target interface {
	poolProxy() *PoolProxy
	poolSize(ctx context.Context) (int, error)
	// takeBuf and putBuf lend a buffer to encode a submission's items into (nil: none).
	takeBuf() []byte
	putBuf(b []byte)
}

func (p *PoolProxy) poolProxy() *PoolProxy { return p }
func (p *PoolProxy) takeBuf() []byte       { return nil }
func (p *PoolProxy) putBuf([]byte)         {}

func (p *PoolProxy) poolSize(ctx context.Context) (int, error) {
	s, err := p.Stats(ctx)
	return s.Size, err
}

// CallOption configures one Map, Apply, Imap, … call.
type CallOption func(*callOpts)

type callOpts struct {
	chunksize int
	retries   int
}

// Chunksize sets how many items make one task (Python's chunksize): a worker claims,
// runs and reports a chunk at a time, and a chunk fails or is retried as a whole when its
// worker dies. The default for Map and the async map is Python's:
// ceil(len(items) / (4 × workers)); for Imap and ImapUnordered it is 1.
func Chunksize(n int) CallOption { return func(o *callOpts) { o.chunksize = n } }

// Retries makes a task whose worker process dies while running it run again, up to n
// more times, on another worker. The default, 0, fails it with ErrWorkerDied. Only a
// dying worker is retried; an error the function returns is the item's result.
func Retries(n int) CallOption { return func(o *callOpts) { o.retries = n } }

// TaskError is the error of one item: the function's own error (Err), or the reason its
// whole task failed (a worker that died, ErrTerminated, …). errors.Is and errors.As
// see through it to Err.
type TaskError struct {
	// Func is the function's registered name.
	Func string
	// Index is the item's position in the submitted items.
	Index int
	// Err is the function's error, or why the item's task failed.
	Err error
}

// Error returns "pool: <func>[<index>]: <err>".
func (e *TaskError) Error() string { return fmt.Sprintf("pool: %s[%d]: %v", e.Func, e.Index, e.Err) }

// Unwrap returns Err.
func (e *TaskError) Unwrap() error { return e.Err }

// submission is one submitted batch, on the submitter's side.
type submission[R any] struct {
	p      *PoolProxy
	fn     string
	id     uint64
	bounds []int // chunk i covers items bounds[i]:bounds[i+1]
}

func submit[A, R any](ctx context.Context, t Target, f Func[A, R], xs []A, defChunk bool, opts []CallOption) (*submission[R], error) {
	if f.name == "" {
		return nil, errors.New("pool: the zero Func names no function; use pool.Register or pool.Named")
	}
	var o callOpts
	for _, opt := range opts {
		opt(&o)
	}
	p := t.poolProxy()
	n := len(xs)
	size := o.chunksize
	if size <= 0 {
		size = 1
		if defChunk && n > 0 {
			workers, err := t.poolSize(ctx)
			if err != nil {
				return nil, fmt.Errorf("pool: %s: %w", f.name, err)
			}
			size = (n + 4*workers - 1) / (4 * workers)
		}
	}
	// Every chunk is encoded into one buffer (ends[i] is where chunk i ends), sized from
	// the first chunk, so that a large Map is not copied as its buffer grows.
	nchunks := (n + size - 1) / size
	bounds := make([]int, 1, nchunks+1)
	ends := make([]int, 0, nchunks)
	buf := t.takeBuf()
	defer func() { t.putBuf(buf) }()
	e := mgr.NewEncoder(buf[:0])
	for lo := 0; lo < n; lo += size {
		hi := min(lo+size, n)
		e.Value(xs[lo:hi])
		if err := e.Err(); err != nil {
			return nil, fmt.Errorf("pool: %s: encode items %d..%d: %w", f.name, lo, hi-1, err)
		}
		if lo == 0 && nchunks > 1 {
			// The first chunk's size, with room to spare: later items may encode longer
			// (larger ints are longer varints).
			first := len(e.Bytes())
			e = mgr.NewEncoder(slices.Grow(e.Bytes(), first*(nchunks-1)*5/4))
		}
		ends = append(ends, len(e.Bytes()))
		bounds = append(bounds, hi)
	}
	s := &submission[R]{p: p, fn: f.name, bounds: bounds}
	if n == 0 {
		return s, nil
	}
	buf = e.Bytes() // Submit copies it: it goes back to t for the next
	id, err := p.Submit(ctx, f.name, buf, ends, o.retries)
	if err != nil {
		return nil, fmt.Errorf("pool: %s: %w", f.name, err)
	}
	s.id = id
	return s, nil
}

// decode turns a chunk's outcome into its items' results, written into dst (as long as
// the chunk; zero values for items that failed), and errors: errs is nil when every
// item succeeded (a chunk of 12,500 ints made 200 KB of nil errors for the collector to
// clear and scan otherwise), else errs[i] is nil for a success; read it with errAt.
// Map decodes straight into its result slice: no slice per chunk, no copy.
func (s *submission[R]) decode(r Result, dst []R) (errs []error) {
	lo, hi := s.bounds[r.Index], s.bounds[r.Index+1]
	fail := func(err error) []error {
		clear(dst)
		errs = make([]error, hi-lo)
		for i := range errs {
			errs[i] = &TaskError{Func: s.fn, Index: lo + i, Err: err}
		}
		return errs
	}
	if r.Err != nil {
		return fail(fmt.Errorf("task of items %d..%d: %w", lo, hi-1, r.Err))
	}
	d := mgr.NewDecoder(r.Out)
	rs := mgr.DecodeSliceInto(d, dst[:0:len(dst)])
	if d.Err() == nil && (len(rs) != hi-lo || &rs[0] != &dst[0]) {
		return fail(fmt.Errorf("decode results: %d results for %d items", len(rs), hi-lo))
	}
	nerr := d.Len(2)
	if nerr > 0 {
		errs = make([]error, hi-lo)
	}
	for range max(nerr, 0) {
		i := d.Int()
		err := d.Error()
		if d.Err() == nil && (i < 0 || i >= len(errs)) {
			d.Fail("item %d of a chunk of %d", i, len(errs))
		}
		if d.Err() == nil {
			errs[i] = &TaskError{Func: s.fn, Index: lo + i, Err: err}
		}
	}
	if err := d.Done(); err != nil {
		return fail(fmt.Errorf("decode results: %w", err))
	}
	return errs
}

// chunkLen is how many items chunk i holds.
func (s *submission[R]) chunkLen(i int) int { return s.bounds[i+1] - s.bounds[i] }

// each delivers the chunk outcomes as they arrive; when yield returns false it cancels
// the batch.
func (s *submission[R]) each(ctx context.Context, yield func(Result) bool) error {
	if s.id == 0 {
		return nil
	}
	for {
		rs, more, err := s.p.Results(ctx, s.id, true)
		if err != nil {
			s.cancel()
			return fmt.Errorf("pool: %s: %w", s.fn, err)
		}
		for _, r := range rs {
			if r.Index < 0 || r.Index >= len(s.bounds)-1 {
				s.cancel()
				return fmt.Errorf("pool: %s: the manager reported chunk %d of %d", s.fn, r.Index, len(s.bounds)-1)
			}
			if !yield(r) {
				if more {
					s.cancel()
				}
				return nil
			}
		}
		if !more {
			return nil
		}
	}
}

func (s *submission[R]) cancel() {
	ctx, cancel := context.WithTimeout(context.Background(), 5e9)
	defer cancel()
	_ = s.p.Cancel(ctx, s.id) // best effort: the batch also goes with this session
}

// all waits for every result; err is the error of the lowest-index item that failed.
func (s *submission[R]) all(ctx context.Context) ([]R, error) {
	out := make([]R, s.bounds[len(s.bounds)-1])
	var first *TaskError
	err := s.each(ctx, func(r Result) bool {
		errs := s.decode(r, out[s.bounds[r.Index]:s.bounds[r.Index+1]])
		for _, e := range errs {
			var te *TaskError
			if e != nil && errors.As(e, &te) && (first == nil || te.Index < first.Index) {
				first = te
			}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if first != nil {
		return out, first
	}
	return out, nil
}

// errAt is errs[i] for errs from decode (nil: no item failed).
func errAt(errs []error, i int) error {
	if errs == nil {
		return nil
	}
	return errs[i]
}

// Map is Python's Pool.map: it runs f on every item in the pool's workers and returns
// the results in the items' order. It waits for every item; if any failed, err is the
// *TaskError of the lowest-index failure, and the results of the others are still
// returned. Python's starmap has no counterpart: Go has no argument unpacking, so make A
// a struct of the arguments.
func Map[A, R any](ctx context.Context, t Target, f Func[A, R], items []A, opts ...CallOption) ([]R, error) {
	s, err := submit(ctx, t, f, items, true, opts)
	if err != nil {
		return nil, err
	}
	return s.all(ctx)
}

// Apply is Python's Pool.apply: it runs f(arg) in a worker and returns its result.
func Apply[A, R any](ctx context.Context, t Target, f Func[A, R], arg A, opts ...CallOption) (R, error) {
	var zero R
	rs, err := Map(ctx, t, f, []A{arg}, append(opts, Chunksize(1))...)
	if len(rs) != 1 {
		return zero, err
	}
	return rs[0], err
}

// AsyncResult is the pending result of ApplyAsync or MapAsync (Python's AsyncResult).
type AsyncResult[R any] struct {
	done chan struct{}
	val  R
	err  error
}

// Done is closed when the result is ready.
func (a *AsyncResult[R]) Done() <-chan struct{} { return a.done }

// Ready reports whether the result is ready.
func (a *AsyncResult[R]) Ready() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// Wait waits until the result is ready or ctx ends, and returns ctx's error in the
// latter case (Python's wait(timeout)).
func (a *AsyncResult[R]) Wait(ctx context.Context) error {
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Get waits for the result and returns it (Python's get(timeout)).
func (a *AsyncResult[R]) Get(ctx context.Context) (R, error) {
	if err := a.Wait(ctx); err != nil {
		var zero R
		return zero, err
	}
	return a.val, a.err
}

// ApplyAsync is Python's Pool.apply_async: it submits f(arg) and returns at once. The
// result is collected in the background until it is ready or ctx ends.
func ApplyAsync[A, R any](ctx context.Context, t Target, f Func[A, R], arg A, opts ...CallOption) (*AsyncResult[R], error) {
	s, err := submit(ctx, t, f, []A{arg}, false, append(opts, Chunksize(1)))
	if err != nil {
		return nil, err
	}
	a := &AsyncResult[R]{done: make(chan struct{})}
	go func() {
		defer close(a.done)
		rs, err := s.all(ctx)
		if len(rs) == 1 {
			a.val = rs[0]
		}
		a.err = err
	}()
	return a, nil
}

// MapAsync is Python's Pool.map_async: Map that returns at once.
func MapAsync[A, R any](ctx context.Context, t Target, f Func[A, R], items []A, opts ...CallOption) (*AsyncResult[[]R], error) {
	s, err := submit(ctx, t, f, items, true, opts)
	if err != nil {
		return nil, err
	}
	a := &AsyncResult[[]R]{done: make(chan struct{})}
	go func() {
		defer close(a.done)
		a.val, a.err = s.all(ctx)
	}()
	return a, nil
}

// Imap is Python's Pool.imap: a lazy Map. The items are submitted when iteration
// starts, and each result is yielded, in the items' order, as soon as it and those
// before it are done; an item that failed yields its *TaskError and iteration goes on.
// A failure of the pool itself (the manager gone, ctx ended) is yielded once, last.
// Breaking out of the loop cancels the tasks not yet run.
func Imap[A, R any](ctx context.Context, t Target, f Func[A, R], items []A, opts ...CallOption) iter.Seq2[R, error] {
	return func(yield func(R, error) bool) {
		var zero R
		s, err := submit(ctx, t, f, items, false, opts)
		if err != nil {
			yield(zero, err)
			return
		}
		type chunk struct {
			rs   []R
			errs []error
		}
		pending := map[int]chunk{}
		next := 0
		stopped := false
		err = s.each(ctx, func(r Result) bool {
			rs := make([]R, s.chunkLen(r.Index))
			errs := s.decode(r, rs)
			pending[r.Index] = chunk{rs, errs}
			for {
				c, ok := pending[next]
				if !ok {
					return true
				}
				delete(pending, next)
				next++
				for i := range c.rs {
					if !yield(c.rs[i], errAt(c.errs, i)) {
						stopped = true
						return false
					}
				}
			}
		})
		if err != nil && !stopped {
			yield(zero, err)
		}
	}
}

// ImapUnordered is Python's Pool.imap_unordered: Imap that yields each result as soon
// as it is done, in no particular order. The yielded value carries the item's index.
func ImapUnordered[A, R any](ctx context.Context, t Target, f Func[A, R], items []A, opts ...CallOption) iter.Seq2[Indexed[R], error] {
	return func(yield func(Indexed[R], error) bool) {
		s, err := submit(ctx, t, f, items, false, opts)
		if err != nil {
			yield(Indexed[R]{Index: -1}, err)
			return
		}
		stopped := false
		err = s.each(ctx, func(r Result) bool {
			rs := make([]R, s.chunkLen(r.Index))
			errs := s.decode(r, rs)
			lo := s.bounds[r.Index]
			for i := range rs {
				if !yield(Indexed[R]{Index: lo + i, Value: rs[i]}, errAt(errs, i)) {
					stopped = true
					return false
				}
			}
			return true
		})
		if err != nil && !stopped {
			yield(Indexed[R]{Index: -1}, err)
		}
	}
}

// Indexed is a result of ImapUnordered with the index of its item (-1 for a failure of
// the pool itself).
type Indexed[R any] struct {
	Index int
	Value R
}
