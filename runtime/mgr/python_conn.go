package mgr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
	pywire "github.com/mgr-go/mgr/runtime/pyproto/wire"
)

// One CPython connection: the handshake, then either one control request (create,
// incref, decref, ...) answered on a connection used once, or accept_connection and
// method calls of that client thread's proxies until it closes.

// pyConn is one authenticated CPython connection.
type pyConn struct {
	srv    *Server
	conn   net.Conn
	raw    *stashConn // what c reads from (python_watch.go)
	w      watcher
	c      *pywire.Conn
	holder *pyHolder
	addr   any    // the manager's address as CPython tokens carry it
	undo   pyUndo // what the running call registered with Undo (python_undo.go)

	out, scratch []byte      // reused by reply
	names        pyLastNames // reused by decodePyRequest (python_fastreq.go)
}

func (s *Server) servePyConn(conn net.Conn) {
	conn.SetDeadline(time.Now().Add(s.opts.handshakeTimeout()))
	raw := &stashConn{Conn: conn, r: connReader(conn, nil)} // never polls (spin.go)
	c := pywire.NewConn(raw, pywire.MaxHandshakeFrame)
	quickAck(conn)
	err := pywire.ServerHandshake(c, s.opts.AuthKey, pywire.Modern)
	<-s.handshakes
	if err != nil {
		s.pyLog("mgr: rejected CPython connection", slog.String(LogPeer, conn.RemoteAddr().String()), slog.String(LogErr, err.Error()))
		conn.Close()
		return
	}
	c.SetMax(s.opts.maxFrame())
	// From here writes are bounded (a peer that stops reading for a lease fails them)
	// without re-arming a timer on every reply.
	c.SetWriter(newStallWriter(conn, s.opts.lease()))
	pc := &pyConn{srv: s, conn: conn, raw: raw, c: c, holder: s.pyHolderFor(conn), addr: pyTokenAddress(conn.LocalAddr())}
	defer conn.Close()
	// The manager's shutdown ends CPython connections too (after its drain, when it
	// cancels every call), as a Go session is ended.
	stop := context.AfterFunc(s.callsCtx, func() { conn.Close() })
	defer stop()
	quickAck(conn)
	frame, err := c.ReadFrame()
	if err != nil {
		if !errors.Is(err, io.EOF) {
			s.pyLog("mgr: CPython connection failed", slog.String(LogPeer, conn.RemoteAddr().String()), slog.String(LogErr, err.Error()))
		}
		return
	}
	conn.SetDeadline(time.Time{})
	req, err := decodePyRequest(frame, nil)
	if err != nil {
		pc.reply(pyTraceback(err))
		return
	}
	if req.method == "accept_connection" {
		if err := pc.reply(pyReturn(nil)); err != nil {
			return
		}
		pc.serveCalls()
		return
	}
	reply := pc.control(req)
	pc.reply(reply)
	if req.method == "shutdown" {
		// CPython's client reads one reply and then waits for the manager to exit.
		go s.Shutdown(context.Background())
	}
}

// pyTokenAddress is the manager's address as a CPython Token holds it: (host, port) for
// TCP, the path for a Unix socket. Clients replace it by the address they dialled, so
// it only has to be right for proxies a Python client pickles to another.
func pyTokenAddress(a net.Addr) any {
	switch a := a.(type) {
	case *net.TCPAddr:
		t, err := pickle.MakeTuple(a.IP.String(), int64(a.Port))
		if err == nil {
			return t
		}
	case *net.UnixAddr:
		return a.Name
	}
	return a.String()
}

// reply pickles and sends one reply; a value that cannot be pickled becomes CPython's
// #UNSERIALIZABLE.
// What the call registered with Undo is undone when its reply cannot reach the client
// (it cannot be pickled, or the write failed): an item taken from a queue goes back
// instead of being lost.
func (pc *pyConn) reply(r pyReply) error {
	undo := pc.undo.take()
	out, scratch, err := r.appendFrame(pc.out, pc.scratch)
	pc.scratch = scratch
	if err != nil {
		runAll(undo)
		undo = nil
		out, scratch, err = pyReply{kind: "#UNSERIALIZABLE", value: fmt.Sprintf("the reply cannot be pickled: %v", err)}.appendFrame(pc.out, pc.scratch)
		pc.scratch = scratch
		if err != nil {
			return err
		}
	}
	pc.keep(out)
	if err := pc.c.WriteFramed(pywire.PutHeader(out)); err != nil {
		runAll(undo) // a frame not written whole is one the client cannot read
		return err
	}
	return nil
}

// keep keeps the reply buffer for the next reply, unless it has grown large: one large
// reply must not pin its buffer for the life of the connection.
func (pc *pyConn) keep(out []byte) {
	pc.out = nil
	if cap(out) <= 64<<10 {
		pc.out = out
	}
	if cap(pc.scratch) > 64<<10 {
		pc.scratch = nil
	}
}

// serveCalls answers method calls until the client closes the connection. A CPython
// client thread sends one request and waits for its reply, so the calls are run in this
// goroutine, one after the other, as CPython's server thread runs them: no hand-off
// between goroutines on the way (it would double a small call's latency).
func (pc *pyConn) serveCalls() {
	s := pc.srv
	caller := s.pyCaller(pc.holder)
	defer s.pyCallerDone(caller)
	ctx, cancel := context.WithCancel(context.WithValue(withCaller(s.callsCtx, caller), pyUndoKey{}, &pc.undo))
	defer cancel()
	pc.w.cancel = cancel
	defer pc.stopWatching()
	for {
		f, err := pc.c.ReadFrame()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !s.shutting.Load() {
				s.pyLog("mgr: CPython connection failed", slog.String(LogPeer, pc.conn.RemoteAddr().String()), slog.String(LogErr, err.Error()))
			}
			return
		}
		if s.shutting.Load() {
			pc.reply(pyTraceback(errors.New("the manager is shutting down")))
			return
		}
		req, err := decodePyRequest(f, &pc.names)
		var r pyReply
		if err != nil {
			r = pyTraceback(err)
		} else {
			r = pc.watched(ctx, func(ctx context.Context) pyReply { return pc.call(ctx, req) })
		}
		if err := pc.reply(r); err != nil {
			return
		}
	}
}
