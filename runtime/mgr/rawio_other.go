//go:build !linux

package mgr

import "net"

// rawIO is Linux's (rawio_linux.go); elsewhere the connection is used as it is.
type rawIO struct{ net.Conn }

func newRawIO(net.Conn, *pollBudget) *rawIO { return nil }
