// Package mgr is the runtime that mgr's generated proxies link against: Python's
// multiprocessing.managers for Go.
//
// A manager process owns ordinary Go objects. Other processes reach them through typed
// proxies that mgrgen generates from structs marked //mgr:expose. This package carries the
// calls: transport (Unix sockets and TCP, optionally TLS), a mutual HMAC handshake over
// an authkey, one multiplexed connection per client process, the manager's object table
// with references owned by client sessions (so a crashed client leaks nothing), and the
// manager's lifecycle: as a child process of the current binary, in this process, or as a
// standalone server.
//
// A program that starts a child-process manager or worker processes must call RunChild
// first thing in main:
//
//	func main() {
//		mgr.RunChild() // in a child started by mgr, runs its role and exits
//		m, err := mgr.Start(ctx, mgr.Options{})
//		...
//	}
package mgr
