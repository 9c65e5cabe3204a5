package mgr

import (
	"io"
	"net"
	"runtime"
	"syscall"
	"time"
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
	sp *pollBudget // nil: reads never poll (writes never do)
}

// rawOp is the state of one direction's callback.
type rawOp struct {
	buf   []byte
	n     int
	errno syscall.Errno
	fn    func(fd uintptr) bool

	// Reads only (spin.go): whether the peer has been answering within the spin window,
	// whether this read has polled, and whether it waited in the poller.
	hot, spun, parked bool
}

// newRawIO returns the raw reader and writer of conn, or nil when conn has no file
// descriptor (a net.Pipe in tests).
func newRawIO(conn net.Conn, sp *pollBudget) *rawIO {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawIO{rc: rc, sp: sp}
	r.rd.hot = true
	read := func(fd uintptr) (uintptr, syscall.Errno) {
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(r.rd.buf))), uintptr(len(r.rd.buf)))
		return n, errno
	}
	r.rd.fn = func(fd uintptr) bool {
		n, errno := read(fd)
		if errno == syscall.EAGAIN && r.rd.hot && !r.rd.spun && r.sp.take() {
			// The peer has been answering quickly: poll for the window rather than
			// park, which costs a wake-up on the way back (spin.go).
			r.rd.spun = true
			until := time.Now().Add(r.sp.window)
			for errno == syscall.EAGAIN && time.Now().Before(until) {
				// Whatever else this process has to run goes first: polling takes
				// only a P nobody wants.
				runtime.Gosched()
				n, errno = read(fd)
			}
			r.sp.give()
		}
		if errno == syscall.EAGAIN {
			r.rd.parked = true
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
	var start time.Time
	if r.sp != nil {
		start = time.Now()
	}
	for {
		r.rd.buf, r.rd.n, r.rd.errno = p, 0, 0
		r.rd.spun, r.rd.parked = false, false
		err := r.rc.Read(r.rd.fn)
		r.rd.buf = nil
		if r.rd.parked && r.sp != nil {
			// Hot (again) when what it waited for came soon after all: the wait
			// includes the wake-up polling saves, and the peer's own (spin.go).
			r.rd.hot = time.Since(start) < r.sp.reheat()
		}
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
