package mgr

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// The CPython front-end's listeners: a manager serves Go clients (Serve) and CPython's
// multiprocessing clients (ServePython) from one object table, on separate listeners.

// pyLog reports what an operator should look at (a rejected connection, a CPython
// client that went away holding references), with the attributes the Go front-end's
// records have (log.go).
func (s *Server) pyLog(msg string, attrs ...slog.Attr) {
	s.opts.logAt(slog.LevelWarn, msg, attrs...)
}

// ServePython accepts CPython multiprocessing clients — BaseManager(address,
// authkey).connect(), SyncManager and their proxies; tested with Python 3.11 to 3.13,
// whose wire is that of 3.8 on — on ln until Shutdown; it then returns nil. They
// authenticate with the manager's AuthKey.
func (s *Server) ServePython(ln net.Listener) error {
	s.mu.Lock()
	if s.shutting.Load() {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.shutting.Load() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if resourceShortage(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.pyLog("mgr: python accept failed; retrying", slog.String(LogErr, err.Error()), slog.Duration("backoff", backoff))
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("mgr: python accept: %w", err)
		}
		backoff = 0
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		s.handshakes <- struct{}{}
		go s.servePyConn(conn)
	}
}

// ListenPython makes an in-process manager (StartInProcess) listen for CPython clients
// on addr as well, and returns the address it listens on.
func (m *Manager) ListenPython(addr Address) (Address, error) {
	if m.srv == nil {
		return Address{}, errors.New("mgr: ListenPython needs a manager in this process (StartInProcess or NewServer); a child-process manager takes Options.Python")
	}
	return m.srv.listenPython(addr)
}

// listenPython listens on addr and serves CPython clients there.
func (s *Server) listenPython(addr Address) (Address, error) {
	ln, err := Listen(addr, nil)
	if err != nil {
		return Address{}, err
	}
	go s.ServePython(ln)
	return ListenerAddress(ln), nil
}

// PythonAddress returns how a CPython client names addr: a "host:port" TCP address as
// the tuple BaseManager takes, a Unix socket as its path. It is the Python expression,
// for generated scripts and messages.
func PythonAddress(addr Address) string {
	if addr.Network == "tcp" {
		host, port, err := net.SplitHostPort(addr.Addr)
		if err == nil {
			return fmt.Sprintf("(%q, %s)", host, port)
		}
	}
	return fmt.Sprintf("%q", addr.Addr)
}
