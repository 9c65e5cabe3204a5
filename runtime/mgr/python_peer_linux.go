package mgr

import (
	"net"
	"syscall"
)

// peerProcess returns the PID of the process at the other end of a Unix socket and a
// check of whether it still runs (the start time guards against a reused PID), or a nil
// check when the transport cannot tell.
func peerProcess(conn net.Conn) (int, func() bool) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return 0, nil
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, nil
	}
	var cred *syscall.Ucred
	raw.Control(func(fd uintptr) {
		cred, err = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	})
	if err != nil || cred == nil || cred.Pid <= 0 {
		return 0, nil
	}
	pid := int(cred.Pid)
	start, ok := procStart(pid)
	if !ok {
		return 0, nil
	}
	return pid, func() bool {
		now, ok := procStart(pid)
		return ok && now == start
	}
}

// quickAck asks Linux to acknowledge the next segments at once. CPython clients leave
// Nagle on and write the handshake's last frame and their first request back to back:
// without it the request waits for our delayed ACK, some 40 ms per connection, and
// CPython opens a connection per create, incref and decref. The kernel clears the flag
// as it goes, so it is set before each read.
func quickAck(conn net.Conn) {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
