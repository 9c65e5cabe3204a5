package mgr

import (
	"io"
	"net"
	"syscall"
	"unsafe"
)

// Connections — a Go session's on either side, and a CPython client's — are read and
// written with raw system calls where they have a file descriptor. The Go
// runtime announces every ordinary system call to its scheduler (entersyscall), and when
// the process has been idle — every P idle while the connection's goroutine waited for
// the next request, the normal state between a sequential client's calls — that
// announcement wakes the runtime's monitor thread with a futex, which on a small machine
// preempts the very thread about to answer: measured with perf on 2 vCPUs, a futex wake
// and two context switches on the path of most calls, 0.31 futex calls and 0.14
// nanosleeps per call in all (on the CPython front-end, where it was found; a Go
// session's sequential calls pay the same on both sides). The socket is non-blocking, so the raw calls return at
// once; when there is nothing to read or no room to write, rawIO waits in the network
// poller as net.Conn does, deadlines included.

// rawIO reads and writes one connection; one reader and one writer may use it at once,
// as the frame reader and the reply writer do. Its callbacks are made once, so a read
// or a write allocates nothing.
type rawIO struct {
	rc syscall.RawConn
	rd rawOp
	wr rawOp
}

// rawOp is the state of one direction's callback.
type rawOp struct {
	buf   []byte
	n     int
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

// newRawIO returns the raw reader and writer of conn, or nil when conn has no file
// descriptor (a net.Pipe in tests).
func newRawIO(conn net.Conn) *rawIO {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawIO{rc: rc}
	r.rd.fn = func(fd uintptr) bool {
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(r.rd.buf))), uintptr(len(r.rd.buf)))
		if errno == syscall.EAGAIN {
			return false // wait in the poller
		}
		r.rd.n, r.rd.errno = int(n), errno // EINTR: Read tries again
		return true
	}
	r.wr.fn = func(fd uintptr) bool {
		for r.wr.n < len(r.wr.buf) {
			p := r.wr.buf[r.wr.n:]
			n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
			switch errno {
			case 0:
				r.wr.n += int(n)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false // the socket's buffer is full: wait in the poller
			default:
				r.wr.errno = errno
				return true
			}
		}
		return true
	}
	return r
}

// Read reads what is there, waiting for something if nothing is.
func (r *rawIO) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		r.rd.buf, r.rd.n, r.rd.errno = p, 0, 0
		err := r.rc.Read(r.rd.fn)
		r.rd.buf = nil
		switch {
		case err != nil:
			return 0, err
		case r.rd.errno == syscall.EINTR:
			continue
		case r.rd.errno != 0:
			return 0, r.rd.errno
		case r.rd.n == 0:
			return 0, io.EOF // a stream socket reads nothing only at its end
		}
		return r.rd.n, nil
	}
}

// Write writes all of p, waiting for room as it goes.
func (r *rawIO) Write(p []byte) (int, error) {
	r.wr.buf, r.wr.n, r.wr.errno = p, 0, 0
	err := r.rc.Write(r.wr.fn)
	r.wr.buf = nil
	if err == nil && r.wr.errno != 0 {
		err = r.wr.errno
	}
	return r.wr.n, err
}
