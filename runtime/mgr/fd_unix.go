//go:build unix

package mgr

import "syscall"

// closeOnExec marks inherited descriptors so programs this process starts do not
// inherit them.
func closeOnExec(fds ...int) {
	for _, fd := range fds {
		syscall.CloseOnExec(fd)
	}
}
