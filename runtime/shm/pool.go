package shm

import (
	"slices"
	"sync"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// PoolOptions bound a manager's pool of released blocks' memory, which later blocks reuse
// (see "Recycling" in the package doc). Set them with SetPool from an Initializer, or
// start the manager with Options{Initializer: PoolInitializer, InitArg: PoolOptions{…}}.
type PoolOptions struct {
	// MaxBytes bounds the memory the pool keeps; 0 means DefaultPoolBytes, negative turns
	// the pool off: every block gets fresh memory, a released block's is freed at once.
	MaxBytes int64
	// MaxIdle is how long a released block's memory waits in the pool for a new block
	// before it is freed; 0 means DefaultPoolIdle.
	MaxIdle time.Duration
}

const (
	// DefaultPoolBytes is the memory a manager's pool keeps at most by default.
	DefaultPoolBytes = 256 << 20
	// DefaultPoolIdle is how long a pooled block's memory waits for reuse by default.
	DefaultPoolIdle = 30 * time.Second
	// PoolInitializer names the Initializer that sets a manager's pool from its InitArg,
	// a PoolOptions.
	PoolInitializer = "shm.Pool"
	// maxPooledFDs bounds the pool's memfds whatever their size: each is a descriptor of
	// the manager's.
	maxPooledFDs = 16
)

func init() {
	mgr.RegisterInitializerOf(PoolInitializer, func(s *mgr.Server, o PoolOptions) error {
		SetPool(s, o)
		return nil
	})
}

// SetPool sets manager s's pool of released blocks' memory; memory pooled beyond the new
// bounds is freed at once.
func SetPool(s *mgr.Server, o PoolOptions) {
	p := poolOf(s)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.opts = o
	p.trimLocked()
}

// poolKey keys a manager's pool in Server.Local.
type poolKey struct{}

// poolOf returns manager s's pool, made on first use; the manager's shutdown frees it.
func poolOf(s *mgr.Server) *pool {
	return s.Local(poolKey{}, func() any {
		p := &pool{}
		go func() {
			<-s.Done()
			p.shut()
		}()
		return p
	}).(*pool)
}

// pool holds memfds of released blocks, zeroed. A memfd enters only when no process maps
// it (put), so a block never shows another's bytes.
type pool struct {
	mu      sync.Mutex
	opts    PoolOptions
	free    []*pooled // oldest first
	bytes   int64
	stopped bool
}

type pooled struct {
	m     *memfd
	timer *time.Timer
}

func (p *pool) maxBytes() int64 {
	switch {
	case p.opts.MaxBytes < 0:
		return 0
	case p.opts.MaxBytes == 0:
		return DefaultPoolBytes
	}
	return p.opts.MaxBytes
}

func (p *pool) maxIdle() time.Duration {
	if p.opts.MaxIdle > 0 {
		return p.opts.MaxIdle
	}
	return DefaultPoolIdle
}

// enabled says whether released blocks' memfds may be recycled (nil: no manager).
func (p *pool) enabled() bool {
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.stopped && p.maxBytes() > 0
}

// fits says whether a memfd of size bytes may enter the pool under its bounds now (SetPool
// may change them at any time: they are read under the lock).
func (p *pool) fits(size int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.stopped && int64(size) <= p.maxBytes()
}

// get returns a memfd of size bytes, zeroed: the smallest pooled one that holds size
// bytes (cleared when it entered the pool), cut to size, or a fresh one.
func (p *pool) get(size int) (*memfd, error) {
	if m := p.take(size); m != nil {
		if err := m.cut(size); err == nil {
			return m, nil
		}
		m.close() // fresh memory will do
	}
	return newMemfd(size)
}

func (p *pool) take(size int) *memfd {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	best := -1
	for i, e := range p.free {
		if e.m.size >= size && (best < 0 || e.m.size < p.free[best].m.size) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	e := p.free[best]
	p.removeLocked(best)
	return e.m
}

func (p *pool) removeLocked(i int) {
	e := p.free[i]
	e.timer.Stop()
	p.bytes -= int64(e.m.size)
	p.free = slices.Delete(p.free, i, i+1) // clears the tail: no stale pointer to e
}

// put keeps m for a later block if the pool has room and none of pids (the processes
// that were told where the memfd is) maps it any more; it reports whether it did. It
// clears the memory now — the released block's goroutine pays for it, not the next
// Create, and the pool holds no old bytes — and moves the memfd to a new descriptor
// number, so that a stale /proc/<pid>/fd/<n> no longer names it.
func (p *pool) put(m *memfd, pids map[int]struct{}) bool {
	if !p.fits(m.size) {
		return false
	}
	for pid := range pids {
		if mapped, err := m.mappedBy(pid); mapped || err != nil {
			return false
		}
	}
	if err := m.clear(); err != nil {
		return false
	}
	if err := m.renumber(); err != nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || int64(m.size) > p.maxBytes() { // shut down, or bounds lowered meanwhile
		return false
	}
	e := &pooled{m: m}
	e.timer = time.AfterFunc(p.maxIdle(), func() { p.expire(e) })
	p.free = append(p.free, e)
	p.bytes += int64(m.size)
	p.trimLocked()
	return true
}

// trimLocked frees the oldest pooled memfds until the pool is within its bounds.
func (p *pool) trimLocked() {
	for len(p.free) > 0 && (p.bytes > p.maxBytes() || len(p.free) > maxPooledFDs) {
		m := p.free[0].m
		p.removeLocked(0)
		m.close()
	}
}

// expire frees e once it has waited MaxIdle, unless a block took it meanwhile.
func (p *pool) expire(e *pooled) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, f := range p.free {
		if f == e {
			p.removeLocked(i)
			e.m.close()
			return
		}
	}
}

// shut frees everything pooled and turns the pool off: the manager shut down.
func (p *pool) shut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	for len(p.free) > 0 {
		m := p.free[0].m
		p.removeLocked(0)
		m.close()
	}
}
