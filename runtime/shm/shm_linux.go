//go:build linux

package shm

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"unsafe"
)

// memfd_create flags (linux/memfd.h); syscall has the call's number but not these.
const mfdCloexec = 0x1

func createMemfd(size int) (Desc, int, error) {
	var suffix [6]byte
	rand.Read(suffix[:])
	name, err := syscall.BytePtrFromString("mgr-shm-" + hex.EncodeToString(suffix[:]))
	if err != nil {
		return Desc{}, -1, err
	}
	r, _, errno := syscall.Syscall(sysMemfdCreate, uintptr(unsafe.Pointer(name)), mfdCloexec, 0)
	if errno != 0 {
		return Desc{}, -1, fmt.Errorf("shm: memfd_create: %w", errno)
	}
	fd := int(r)
	if err := syscall.Ftruncate(fd, int64(size)); err != nil {
		syscall.Close(fd)
		return Desc{}, -1, fmt.Errorf("shm: size the memfd to %d bytes: %w", size, err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return Desc{}, -1, fmt.Errorf("shm: fstat the memfd: %w", err)
	}
	host, _ := os.Hostname()
	d := Desc{Size: size, PID: os.Getpid(), FD: fd, Dev: uint64(st.Dev), Ino: st.Ino, BootID: bootID(), Host: host}
	return d, fd, nil
}

func closeFD(fd int) { syscall.Close(fd) }

func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// mapDesc opens the manager's memfd through procfs, checks it is the block's, and maps
// it shared.
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
	data, err := syscall.Mmap(int(f.Fd()), 0, d.Size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("shm: mmap %d bytes: %w", d.Size, err)
	}
	return data, nil
}

func unmap(b []byte) error { return syscall.Munmap(b) }
