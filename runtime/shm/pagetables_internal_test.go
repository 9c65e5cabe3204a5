//go:build linux

package shm

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// TestPopulatedBySeveralThreads: a mapping populated in ranges by several threads has
// every page's entry filled (touching each page, reading and writing, faults none), shows
// the memfd's bytes, and munmapSpread leaves nothing mapped — with a size that is no
// multiple of the ranges or of a page.
func TestPopulatedBySeveralThreads(t *testing.T) {
	const size = 6<<20 + 5000
	mem, err := newMemfd(size)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.close()
	one, err := mmapPopulated(mem.fd, size, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer munmapSpread(one, 1)
	for i := range one {
		one[i] = byte(i % 251)
	}
	runtime.LockOSThread() // the fault count below is this thread's
	defer runtime.UnlockOSThread()
	for _, n := range []int{2, 3, 4} {
		b, err := mmapPopulated(mem.fd, size, n)
		if err != nil {
			t.Fatal(err)
		}
		before := threadFaults()
		sum := 0
		for i := 0; i < len(b); i += 4096 {
			sum += int(b[i])
			b[i] = byte(i % 251) // the same byte: a write fault would still count
		}
		if f := threadFaults() - before; f > 0 {
			t.Errorf("%d threads: touching every page took %d faults, want 0 (populated)", n, f)
		}
		for i := range b {
			if b[i] != byte(i%251) {
				t.Fatalf("%d threads: byte %d = %d, want %d", n, i, b[i], i%251)
			}
		}
		start := fmt.Sprintf("%x-", uintptr(unsafe.Pointer(&b[0])))
		if err := munmapSpread(b, n); err != nil {
			t.Fatal(err)
		}
		maps, _ := os.ReadFile("/proc/self/maps")
		for _, l := range strings.Split(string(maps), "\n") {
			if strings.HasPrefix(l, start) && strings.Contains(l, mem.name) {
				t.Fatalf("%d threads: still mapped after munmapSpread: %s", n, l)
			}
		}
	}
}

// threadFaults returns the calling thread's minor faults so far.
func threadFaults() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(1, &ru) // RUSAGE_THREAD
	return ru.Minflt
}
