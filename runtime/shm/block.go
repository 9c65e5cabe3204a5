package shm

import (
	"fmt"
	"sync"
)

// Block is a block of shared memory, in the manager: a memfd of a fixed size, closed
// when the block's last reference goes. Clients use it through a *BlockProxy and map it
// with Open.
//
//mgr:expose typeid=shm.Block concurrent inline hide=Released
type Block struct {
	mu   sync.Mutex
	fd   int // -1 once released
	desc Desc
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
}

// NewBlock returns a block of size bytes, zeroed.
func NewBlock(size int) (*Block, error) {
	if size <= 0 {
		return nil, fmt.Errorf("shm: block size %d: must be positive", size)
	}
	d, fd, err := createMemfd(size)
	if err != nil {
		return nil, err
	}
	b := &Block{fd: fd, desc: d}
	return b, nil
}

// Desc describes the block for Open.
func (b *Block) Desc() (Desc, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fd < 0 {
		return Desc{}, ErrReleased
	}
	return b.desc, nil
}

// Size returns the block's size in bytes.
func (b *Block) Size() int { return b.desc.Size }

// Released closes the memfd: the manager calls it when the block's last reference has
// gone (mgr.Releaser). Mappings keep the memory until they are closed.
func (b *Block) Released() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fd >= 0 {
		closeFD(b.fd)
		b.fd = -1
	}
}
