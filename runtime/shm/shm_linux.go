//go:build linux

package shm

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// memfd_create flags (linux/memfd.h); syscall has the call's number but not these.
const mfdCloexec = 0x1

// memfd is a block's memory in the manager: a memfd and what identifies it.
type memfd struct {
	fd       int
	name     string // as /proc/<pid>/maps shows it: "/memfd:<name> (deleted)"
	size     int
	dev, ino uint64
}

// newMemfd makes a memfd of size bytes and allocates its pages now: one fallocate is
// several times cheaper than the page faults of a first touch (measured in
// cmd/mgrbench/RESULTS.md), and a machine without the memory says so here.
func newMemfd(size int) (*memfd, error) {
	var suffix [6]byte
	rand.Read(suffix[:])
	m := &memfd{name: "mgr-shm-" + hex.EncodeToString(suffix[:]), size: size}
	name, err := syscall.BytePtrFromString(m.name)
	if err != nil {
		return nil, err
	}
	r, _, errno := syscall.Syscall(sysMemfdCreate, uintptr(unsafe.Pointer(name)), mfdCloexec, 0)
	if errno != 0 {
		return nil, fmt.Errorf("shm: memfd_create: %w", errno)
	}
	m.fd = int(r)
	if err := syscall.Ftruncate(m.fd, int64(size)); err != nil {
		m.close()
		return nil, fmt.Errorf("shm: size the memfd to %d bytes: %w", size, err)
	}
	switch err := syscall.Fallocate(m.fd, 0, 0, int64(size)); {
	case err == nil, errors.Is(err, syscall.EOPNOTSUPP), errors.Is(err, syscall.ENOSYS):
		// Without fallocate the pages come on first touch.
	default:
		m.close()
		return nil, fmt.Errorf("shm: allocate %d bytes for the block: %w", size, err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(m.fd, &st); err != nil {
		m.close()
		return nil, fmt.Errorf("shm: fstat the memfd: %w", err)
	}
	m.dev, m.ino = uint64(st.Dev), st.Ino
	return m, nil
}

// clear zeroes the memfd through a mapping of its own, populated in one go: a memset at
// memory speed, the pages being there already (measured in cmd/mgrbench/RESULTS.md:
// several times cheaper than fresh pages).
func (m *memfd) clear() error {
	n := spread(m.size)
	b, err := mmapPopulated(m.fd, m.size, n)
	if err != nil {
		return err
	}
	clear(b)
	return munmapSpread(b, n)
}

// cut makes a cleared memfd of at least size bytes one of size bytes: the pages beyond
// are freed (and a partial last page's tail zeroed by the kernel).
func (m *memfd) cut(size int) error {
	if size == m.size {
		return nil
	}
	if err := syscall.Ftruncate(m.fd, int64(size)); err != nil {
		return err
	}
	m.size = size
	return nil
}

// renumber moves the memfd to another descriptor number, closing the old one.
func (m *memfd) renumber() error {
	fd, err := fcntl(m.fd, syscall.F_DUPFD_CLOEXEC, m.fd+1)
	if err != nil {
		return err
	}
	syscall.Close(m.fd)
	m.fd = fd
	return nil
}

func (m *memfd) close() {
	if m.fd >= 0 {
		syscall.Close(m.fd)
		m.fd = -1
	}
}

// mappedBy reports whether process pid maps the memfd: a line of /proc/<pid>/maps with
// its inode and name. A process that is gone maps nothing; one whose maps cannot be
// read is an error (the caller then assumes it does).
func (m *memfd) mappedBy(pid int) (bool, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/maps")
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	ino := []byte(" " + strconv.FormatUint(m.ino, 10) + " ")
	name := []byte("/memfd:" + m.name)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Bytes(); bytes.Contains(l, ino) && bytes.Contains(l, name) {
			return true, nil
		}
	}
	return false, sc.Err()
}

func fcntl(fd, cmd, arg int) (int, error) {
	r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(arg))
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// mapDesc opens the manager's memfd through procfs, checks it is the block's, and maps
// it shared, populated: the mapping's page tables are filled in one go (mmapPopulated)
// instead of one fault per page on first touch — the pages are already allocated
// (newMemfd), so this costs page-table entries, not memory.
func mapDesc(d Desc) ([]byte, error) {
	if id := bootID(); d.BootID == "" || id == "" || d.BootID != id {
		return nil, fmt.Errorf("%w: it runs on %q (boot ID %q), this process on a machine with boot ID %q; shared memory works only between processes of one machine", ErrNotLocal, d.Host, d.BootID, id)
	}
	path := fmt.Sprintf("/proc/%d/fd/%d", d.PID, d.FD)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	switch {
	case errors.Is(err, os.ErrPermission):
		return nil, fmt.Errorf("%w: open %s: %v (opening another process's descriptor needs ptrace read access to it: the same user, or CAP_SYS_PTRACE, and a dumpable manager)", ErrAccess, path, err)
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("%w: %s does not exist here: the manager (pid %d on %q) is in another PID namespace (a container), or the block was released meanwhile", ErrNotLocal, path, d.PID, d.Host)
	case err != nil:
		return nil, fmt.Errorf("shm: open the block's memfd: %w", err)
	}
	defer f.Close() // the mapping keeps the memfd alive by itself
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return nil, fmt.Errorf("shm: fstat %s: %w", path, err)
	}
	if uint64(st.Dev) != d.Dev || st.Ino != d.Ino {
		return nil, fmt.Errorf("%w: %s is not the block's memfd (inode %d:%d, want %d:%d): the manager's pid %d names another process here (another PID namespace?), or the block was released and its descriptor reused", ErrNotLocal, path, st.Dev, st.Ino, d.Dev, d.Ino, d.PID)
	}
	data, err := mmapPopulated(int(f.Fd()), d.Size, spread(d.Size))
	if err != nil {
		return nil, fmt.Errorf("shm: mmap %d bytes: %w", d.Size, err)
	}
	return data, nil
}

func unmap(b []byte) error { return munmapSpread(b, spread(len(b))) }
