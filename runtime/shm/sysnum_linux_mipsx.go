//go:build linux && (mips || mipsle)

package shm

// sysMemfdCreate is memfd_create(2)'s number; the frozen syscall package lacks it here.
const sysMemfdCreate = 4354
