//go:build !linux

package mgr

import "net"

// peerProcess cannot tell the peer's process on this system: every CPython client's
// references are held for the manager's life, as CPython's own manager holds them.
func peerProcess(net.Conn) (int, func() bool) { return 0, nil }

// quickAck does nothing here.
func quickAck(net.Conn) {}
