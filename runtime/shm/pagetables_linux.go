//go:build linux

package shm

import (
	"runtime"
	"sync"
	"syscall"
)

// Mapping a block and unmapping it is mostly the kernel's work on page tables: an entry
// per 4 KiB page (16,384 for 64 MiB), ≈0.3 µs each to map and ≈0.2 µs to unmap on the
// VM this was measured on — 70% of a fresh 64 MiB hand-off (cmd/mgrbench/RESULTS.md,
// "Shared memory: fresh blocks from a pool"). One mmap(MAP_POPULATE) or munmap does it
// on one CPU; big mappings are split into ranges that several threads populate
// (MADV_POPULATE_READ, Linux 5.14) and clear (MADV_DONTNEED, then a munmap with nothing
// left to do) at once: each 2 MiB range has its own page-table lock, so they do not
// wait for each other. The work is the same; an idle CPU shares it.

// spreadChunk is the least a thread populates or clears: below it a thread's start costs
// more than it saves. A multiple of 2 MiB, so that threads share no page table.
const spreadChunk = 16 << 20

const madvPopulateRead = 22 // linux/mman.h; syscall lacks it

// spread returns how many threads should map or unmap size bytes.
func spread(size int) int {
	return max(1, min(runtime.GOMAXPROCS(0), size/spreadChunk, 8))
}

// mmapPopulated maps size bytes of fd shared, read-write, with every page table entry
// filled before it returns (a shared mapping's read-populated entries are writable: no
// fault on the first write either), by n threads.
func mmapPopulated(fd, size, n int) ([]byte, error) {
	const prot, flags = syscall.PROT_READ | syscall.PROT_WRITE, syscall.MAP_SHARED
	if n <= 1 {
		return syscall.Mmap(fd, 0, size, prot, flags|syscall.MAP_POPULATE)
	}
	b, err := syscall.Mmap(fd, 0, size, prot, flags)
	if err != nil {
		return nil, err
	}
	if err := inRanges(b, n, madvPopulateRead); err != nil {
		// Before Linux 5.14 (EINVAL), or the kernel refused: one thread does it.
		syscall.Munmap(b)
		return syscall.Mmap(fd, 0, size, prot, flags|syscall.MAP_POPULATE)
	}
	return b, nil
}

// munmapSpread unmaps b, which mmapPopulated mapped, its entries cleared by n threads.
func munmapSpread(b []byte, n int) error {
	if n > 1 {
		inRanges(b, n, syscall.MADV_DONTNEED) // a shared mapping: the memfd keeps the bytes
	}
	return syscall.Munmap(b)
}

// inRanges applies madvise advice to b in n ranges of whole 2 MiB units at once, and
// returns the first error.
func inRanges(b []byte, n, advice int) error {
	const unit = 2 << 20
	per := (len(b)/n + unit - 1) / unit * unit
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		lo := min(i*per, len(b))
		hi := min(lo+per, len(b))
		if i == n-1 {
			hi = len(b)
		}
		if lo == hi {
			continue
		}
		wg.Go(func() { errs[i] = syscall.Madvise(b[lo:hi], advice) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
