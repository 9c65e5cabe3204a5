//go:build !linux

package mgr

import (
	"io"
	"net"
)

// The raw reader and writer are Linux's (rawio_linux.go); elsewhere connReader and
// connWriter (session.go) use the connection as it is.

func rawReaderOf(net.Conn, *pollBudget) io.Reader { return nil }

func rawWriterOf(net.Conn) io.Writer { return nil }
