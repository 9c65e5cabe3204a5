//go:build linux && 386

package shm

// sysMemfdCreate is memfd_create(2)'s number; the frozen syscall package lacks it here.
const sysMemfdCreate = 356
