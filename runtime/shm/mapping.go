package shm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

// Mapping is this process's mapping of a block: the block's bytes, shared with every
// other process that mapped it. It does not hold a reference to the block (keep the
// proxy for that); the memory stays valid until Close, even after the block was
// released in the manager.
type Mapping struct {
	mu   sync.Mutex
	data []byte
	desc Desc
}

// Open maps block b into this process. It fails with ErrNotLocal when the manager runs
// on another machine (or in another PID namespace), ErrAccess when this process may not
// open the manager's descriptors, and ErrUnsupported off Linux — never by copying.
func Open(ctx context.Context, b *BlockProxy) (*Mapping, error) {
	d, err := b.Desc(ctx)
	if err != nil {
		return nil, fmt.Errorf("shm: open block #%d: %w", b.ObjectID(), err)
	}
	data, err := mapDesc(d)
	if err != nil {
		return nil, fmt.Errorf("shm: open block #%d: %w", b.ObjectID(), err)
	}
	if d.Pooled {
		// The manager recycles released blocks' memfds: had the block been released
		// between Desc and the mapping (its last reference closed meanwhile), the memfd
		// mapped might be the pool's, or another block's by now. A block still alive
		// after the mapping was never released, so its memfd is the one mapped.
		if d2, err := b.Desc(ctx); err != nil || d2.Ino != d.Ino || d2.FD != d.FD {
			unmap(data)
			if err == nil {
				err = ErrReleased
			}
			return nil, fmt.Errorf("shm: open block #%d: %w", b.ObjectID(), err)
		}
	}
	return &Mapping{data: data, desc: d}, nil
}

// Bytes returns the block's memory. The slice is valid until Close; using it afterwards
// faults.
func (m *Mapping) Bytes() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.data
}

// Len returns the block's size in bytes.
func (m *Mapping) Len() int { return m.desc.Size }

// Close unmaps the block. Every slice and view of it becomes invalid: touching one
// afterwards crashes the process. Close is idempotent.
func (m *Mapping) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.data == nil {
		return nil
	}
	err := unmap(m.data)
	m.data = nil
	return err
}

// Scalar is the element types of typed views: fixed-size numbers, whose bytes mean the
// same in every process of the machine.
type Scalar interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 |
		~float32 | ~float64 | ~complex64 | ~complex128
}

// View returns the whole block as a []T (as many whole elements as fit), zero-copy:
// numpy's ndarray(buffer=shm.buf).
func View[T Scalar](m *Mapping) ([]T, error) {
	var zero T
	return ViewAt[T](m, 0, m.Len()/int(unsafe.Sizeof(zero)))
}

// ViewAt returns n elements of type T starting offset bytes into the block. offset must
// be a multiple of T's alignment, and the elements must fit in the block.
func ViewAt[T Scalar](m *Mapping, offset, n int) ([]T, error) {
	var zero T
	size, align := int(unsafe.Sizeof(zero)), int(unsafe.Alignof(zero))
	data := m.Bytes()
	if data == nil {
		return nil, errors.New("shm: view of a closed mapping")
	}
	if offset < 0 || n < 0 || offset%align != 0 || n > (len(data)-offset)/size {
		return nil, fmt.Errorf("%w: %d × %T at offset %d in %d bytes (alignment %d)", ErrView, n, zero, offset, len(data), align)
	}
	if n == 0 {
		return []T{}, nil
	}
	// The mapping is page-aligned, so offset's alignment is the element's.
	return unsafe.Slice((*T)(unsafe.Pointer(&data[offset])), n), nil
}
