//go:generate go tool mgrgen
package shm

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Block is a block of shared memory, in the manager: a memfd of a fixed size, closed
// (or kept in the manager's pool for a later block, zeroed: see "Recycling" in the
// package doc) when the block's last reference goes. Clients use it through a
// *BlockProxy and map it with Open.
//
//mgr:expose typeid=shm.Block concurrent inline hide=Released
type Block struct {
	mu   sync.Mutex
	mem  *memfd // nil once released
	desc Desc
	pool *pool // where the memfd goes when the block is released; nil: closed at once
	// mappers are the processes that asked for Desc, the ones that may map the memfd:
	// the pool takes it only once none of them does (pool.put).
	mappers map[int]struct{}
	unknown bool // a caller's process was unknown: the memfd is closed, never pooled
}

// Desc is what a client needs to open a block's memfd and check that it opened the
// right file.
type Desc struct {
	// Size is the block's size in bytes.
	Size int
	// PID is the manager's process ID, FD the memfd's descriptor in it.
	PID, FD int
	// Dev and Ino identify the memfd's inode.
	Dev, Ino uint64
	// BootID is the manager machine's boot ID (/proc/sys/kernel/random/boot_id), which
	// tells another machine apart even behind a loopback-looking address.
	BootID string
	// Host is the manager machine's host name, for error messages.
	Host string
	// Pooled says the manager may recycle the memfd for a later block once this one is
	// released: Open then checks, after mapping, that the block still lives.
	Pooled bool
}

// maxMappers bounds the processes a block remembers as possible mappers; a block asked
// by more is closed when released, not pooled (checking them all would cost too much).
const maxMappers = 64

// NewBlock returns a block of size bytes, zeroed: fresh memory, allocated now (not page
// by page on first touch, and a machine out of memory fails here rather than with a
// SIGBUS later), or a released block's memory from the manager's pool, cleared.
func NewBlock(ctx context.Context, size int) (*Block, error) {
	if size <= 0 {
		return nil, fmt.Errorf("shm: block size %d: must be positive", size)
	}
	var p *pool
	if s := mgr.ServerOf(ctx); s != nil {
		p = poolOf(s)
	}
	m, err := p.get(size)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	d := Desc{Size: size, PID: os.Getpid(), FD: m.fd, Dev: m.dev, Ino: m.ino, BootID: bootID(), Host: host, Pooled: p.enabled()}
	return &Block{mem: m, desc: d, pool: p}, nil
}

// Desc describes the block for Open.
func (b *Block) Desc(ctx context.Context) (Desc, error) {
	pid := os.Getpid() // a call with no session is the manager's own
	if c := mgr.CallerOf(ctx); c.ID() != 0 {
		pid = c.PID()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.mem == nil {
		return Desc{}, ErrReleased
	}
	switch _, known := b.mappers[pid]; {
	case known:
	case pid <= 0 || len(b.mappers) >= maxMappers:
		b.unknown = true
	default:
		if b.mappers == nil {
			b.mappers = map[int]struct{}{}
		}
		b.mappers[pid] = struct{}{}
	}
	d := b.desc
	d.FD = b.mem.fd
	return d, nil
}

// Size returns the block's size in bytes.
func (b *Block) Size() int { return b.desc.Size }

// Released gives the memfd to the manager's pool, or closes it: the manager calls it
// when the block's last reference has gone (mgr.Releaser). Mappings keep the memory
// until they are closed — and a memfd some process still maps is closed, never pooled.
func (b *Block) Released() {
	b.mu.Lock()
	m, pids, unknown := b.mem, b.mappers, b.unknown
	b.mem, b.mappers = nil, nil
	b.mu.Unlock()
	if m == nil {
		return
	}
	// A block made while the pool was off told its openers nothing to check (Desc.Pooled):
	// its memfd is not recycled even if the pool is on by now.
	if unknown || !b.desc.Pooled || !b.pool.put(m, pids) {
		m.close()
	}
}
