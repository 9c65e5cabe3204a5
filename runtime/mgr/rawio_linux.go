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
// session's sequential calls pay the same on both sides). The socket is non-blocking, so
// the raw calls return at once; when there is nothing to read or no room to write, they
// wait in the network poller as net.Conn does, deadlines included. connReader and
// connWriter (session.go) fall back to the connection itself where there is no
// descriptor (a net.Pipe, a TLS connection).

// rawReader reads one connection, one goroutine at a time. Its callback is made once,
// so a read allocates nothing.
type rawReader struct {
	rc syscall.RawConn
	sp *pollBudget // nil: it never polls (spin.go)
	fn func(fd uintptr) bool

	// The read under way, set by Read for fn.
	buf   []byte
	n     int
	errno syscall.Errno
	// Polling (spin.go): whether the peer has been answering soon, when this read first
	// found nothing (zero: it has not), and whether it then waited in the poller.
	hot    bool
	empty  time.Time
	parked bool
	cold   int              // parked reads since the reader last polled while not hot (probeEvery)
	inq    int32            // pending's answer
	inqFn  func(fd uintptr) // pending's callback, made once
}

// pending reports whether bytes wait unread on the connection (sequential.go).
func (r *rawReader) pending() bool {
	r.inq = 0
	if r.rc.Control(r.inqFn) != nil {
		return false
	}
	return r.inq > 0
}

// rawReaderOf returns conn's raw reader, polling within sp's budget, or nil when conn
// has no file descriptor.
func rawReaderOf(conn net.Conn, sp *pollBudget) io.Reader {
	rc := rawConnOf(conn)
	if rc == nil {
		return nil
	}
	r := &rawReader{rc: rc, sp: sp, hot: true}
	r.inqFn = func(fd uintptr) {
		if _, _, errno := syscall.RawSyscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&r.inq))); errno != 0 {
			r.inq = 0
		}
	}
	r.fn = func(fd uintptr) bool {
		n, errno := r.read(fd)
		if errno == syscall.EAGAIN && r.empty.IsZero() {
			r.empty = time.Now()
			if (r.hot || r.sp.probe(&r.cold)) && r.sp.take() {
				// The peer has been answering soon (or a cold reader probes whether it
				// does again): poll for the window rather than park, which costs a
				// wake-up on the way back.
				for until := r.empty.Add(r.sp.window); errno == syscall.EAGAIN && time.Now().Before(until); {
					// Whatever else this process has to run goes first: polling takes
					// only a P nobody wants.
					runtime.Gosched()
					n, errno = r.read(fd)
				}
				r.sp.give()
				if errno != syscall.EAGAIN {
					r.hot = true // answered within the window
				}
			}
		}
		if errno == syscall.EAGAIN {
			r.parked = true
			return false // wait in the poller
		}
		r.n, r.errno = int(n), errno // EINTR: Read tries again
		return true
	}
	return r
}

func (r *rawReader) read(fd uintptr) (uintptr, syscall.Errno) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(r.buf))), uintptr(len(r.buf)))
	return n, errno
}

// Read reads what is there, waiting for something if nothing is.
func (r *rawReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.empty, r.parked = time.Time{}, false
	for {
		r.buf, r.n, r.errno = p, 0, 0
		err := r.rc.Read(r.fn)
		r.buf = nil
		if r.parked && r.sp != nil {
			// Hot (again) when what it waited for came soon after all: the wait
			// includes the wake-up polling saves, and the peer's own (spin.go).
			r.hot = time.Since(r.empty) < r.sp.reheat()
		}
		switch {
		case err != nil:
			return 0, err
		case r.errno == syscall.EINTR:
			continue
		case r.errno != 0:
			return 0, r.errno
		case r.n == 0:
			return 0, io.EOF // a stream socket reads nothing only at its end
		}
		return r.n, nil
	}
}

// rawWriter writes one connection, one goroutine at a time (a wire.Writer serialises
// them). Its callback is made once, so a write allocates nothing.
type rawWriter struct {
	rc syscall.RawConn
	fn func(fd uintptr) bool

	// The write under way, set by Write for fn.
	buf   []byte
	n     int
	errno syscall.Errno
}

// rawWriterOf returns conn's raw writer, or nil when conn has no file descriptor.
func rawWriterOf(conn net.Conn) io.Writer {
	rc := rawConnOf(conn)
	if rc == nil {
		return nil
	}
	w := &rawWriter{rc: rc}
	w.fn = func(fd uintptr) bool {
		for w.n < len(w.buf) {
			p := w.buf[w.n:]
			n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
			switch errno {
			case 0:
				w.n += int(n)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false // the socket's buffer is full: wait in the poller
			default:
				w.errno = errno
				return true
			}
		}
		return true
	}
	return w
}

// Write writes all of p, waiting for room as it goes.
func (w *rawWriter) Write(p []byte) (int, error) {
	w.buf, w.n, w.errno = p, 0, 0
	err := w.rc.Write(w.fn)
	w.buf = nil
	if err == nil && w.errno != 0 {
		err = w.errno
	}
	return w.n, err
}

// rawConnOf returns conn's descriptor access, or nil when it has none.
func rawConnOf(conn net.Conn) syscall.RawConn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}
