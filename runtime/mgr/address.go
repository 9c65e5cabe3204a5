package mgr

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Address is where a manager listens: a Unix-domain socket path or a TCP host:port.
// Its string form is "unix:/path/to/sock" or "tcp:127.0.0.1:5000" and round-trips
// through ParseAddress.
type Address struct {
	// Network is "unix" or "tcp".
	Network string
	// Addr is the socket path or host:port.
	Addr string
}

// String returns "network:addr".
func (a Address) String() string { return a.Network + ":" + a.Addr }

// ParseAddress parses the form String returns. A bare "host:port" is taken as TCP and a
// string starting with "/" as a Unix socket path.
func ParseAddress(s string) (Address, error) {
	switch {
	case strings.HasPrefix(s, "unix:"):
		a := Address{Network: "unix", Addr: s[len("unix:"):]}
		if a.Addr == "" {
			return Address{}, errors.New("mgr: address \"unix:\" has no socket path")
		}
		return a, nil
	case strings.HasPrefix(s, "tcp:"):
		s = s[len("tcp:"):]
	case strings.HasPrefix(s, "/"):
		return Address{Network: "unix", Addr: s}, nil
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		return Address{}, fmt.Errorf("mgr: address %q is neither unix:/path nor tcp:host:port: %w", s, err)
	}
	return Address{Network: "tcp", Addr: s}, nil
}

// PrivateSocket makes a fresh directory only this user can enter (mode 0700) and returns
// the address of a socket inside it, with a cleanup that removes the directory.
func PrivateSocket() (Address, func(), error) {
	dir, err := os.MkdirTemp("", "mgr-")
	if err != nil {
		return Address{}, nil, err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return Address{}, nil, err
	}
	return Address{Network: "unix", Addr: filepath.Join(dir, "mgr.sock")}, func() { os.RemoveAll(dir) }, nil
}

// Listen listens on a. A Unix socket is created with mode 0600; TCP accepts only what
// the address names (use 127.0.0.1 for loopback). With tlsConf the listener serves TLS.
func Listen(a Address, tlsConf *tls.Config) (net.Listener, error) {
	var ln net.Listener
	var err error
	switch a.Network {
	case "unix":
		ln, err = net.Listen("unix", a.Addr)
		if errors.Is(err, syscall.EADDRINUSE) && staleSocket(a.Addr) {
			// Left by a manager that died (kill -9): nobody listens on it. A restarted
			// manager takes the address over, and its old clients learn it restarted.
			os.Remove(a.Addr)
			ln, err = net.Listen("unix", a.Addr)
		}
		if err == nil {
			if err = os.Chmod(a.Addr, 0o600); err != nil {
				ln.Close()
			}
		}
	case "tcp":
		ln, err = net.Listen("tcp", a.Addr)
	default:
		return nil, fmt.Errorf("mgr: unknown network %q in address %s", a.Network, a)
	}
	if err != nil {
		return nil, fmt.Errorf("mgr: listen on %s: %w", a, err)
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	return ln, nil
}

// staleSocket reports whether the Unix socket at path is left over: connecting to it is
// refused, so no process listens on it.
func staleSocket(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// ListenerAddress returns the Address of a listener made by Listen (useful with
// "tcp:127.0.0.1:0").
func ListenerAddress(ln net.Listener) Address {
	a := ln.Addr()
	return Address{Network: a.Network(), Addr: a.String()}
}

func dial(ctx context.Context, a Address, tlsConf *tls.Config) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, a.Network, a.Addr)
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %w", ErrConnect, a, err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	if tlsConf != nil {
		tc := tls.Client(conn, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("%w: TLS handshake with %s: %w", ErrHandshake, a, err)
		}
		conn = tc
	}
	return conn, nil
}
