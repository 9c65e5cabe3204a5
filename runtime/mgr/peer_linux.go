package mgr

import (
	"bytes"
	"net"
	"os"
	"strconv"
	"syscall"
)

// peerAlive returns a check of whether the process at the other end of conn still runs,
// for a Unix socket (the kernel's peer credentials name it), or nil when the transport
// cannot tell (TCP). A process that has exited — or whose PID now names another process,
// started later — is not alive; a zombie (exited, not yet reaped) is not either.
func peerAlive(conn net.Conn) func() bool {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return nil
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil
	}
	var cred *syscall.Ucred
	raw.Control(func(fd uintptr) {
		cred, err = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	})
	if err != nil || cred == nil || cred.Pid <= 0 {
		return nil
	}
	pid := int(cred.Pid)
	start, ok := procStart(pid)
	if !ok {
		return nil
	}
	return func() bool {
		now, ok := procStart(pid)
		return ok && now == start
	}
}

// procStart returns the start time of process pid (field 22 of /proc/pid/stat), or false
// if there is no such running process.
func procStart(pid int) (string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", false
	}
	// The command name (field 2) is in parentheses and may hold spaces: skip past it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return "", false
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is the state (field 3); the start time is field 22, f[19].
	if len(f) < 20 || f[0][0] == 'Z' || f[0][0] == 'X' {
		return "", false
	}
	return string(f[19]), true
}
