//go:build !linux

package shm

// Blocks need memfd_create and /proc/<pid>/fd, which only Linux has. Elsewhere the
// package builds, and creating or opening a block fails with ErrUnsupported. (A POSIX
// shm_open fallback would need a name in a shared namespace that a crash leaks, which is
// what this package exists to avoid.)

func createMemfd(size int) (Desc, int, error) { return Desc{}, -1, ErrUnsupported }

func closeFD(fd int) {}

func mapDesc(d Desc) ([]byte, error) { return nil, ErrUnsupported }

func unmap(b []byte) error { return nil }
