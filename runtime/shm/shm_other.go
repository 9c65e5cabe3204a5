//go:build !linux

package shm

// Blocks need memfd_create and /proc/<pid>/fd, which only Linux has. Elsewhere the
// package builds, and creating or opening a block fails with ErrUnsupported. (A POSIX
// shm_open fallback would need a name in a shared namespace that a crash leaks, which is
// what this package exists to avoid.)

type memfd struct {
	fd, size int
	dev, ino uint64
}

func newMemfd(size int) (*memfd, error) { return nil, ErrUnsupported }

func (m *memfd) clear() error { return ErrUnsupported }

func (m *memfd) cut(size int) error { return ErrUnsupported }

func (m *memfd) renumber() error { return ErrUnsupported }

func (m *memfd) close() {}

func (m *memfd) mappedBy(pid int) (bool, error) { return true, ErrUnsupported }

func bootID() string { return "" }

func mapDesc(d Desc) ([]byte, error) { return nil, ErrUnsupported }

func unmap(b []byte) error { return nil }
