//go:build !unix

package mgr

// closeOnExec is a no-op where child processes do not inherit descriptors by number
// (mgr's child processes need Unix; clients and servers work everywhere).
func closeOnExec(fds ...int) {}
