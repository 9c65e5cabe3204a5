package etcd

// SetTestHook makes b call f at the points of queue calls a test may kill the manager at
// (see Backend.testHook). Call it before the manager serves.
func SetTestHook(b *Backend, f func(point string)) { b.testHook = f }
