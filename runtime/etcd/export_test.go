package etcd

import "context"

// SetTestHook makes b call f at the points of queue calls a test waits for or kills the
// manager at (see Backend.testHook), with the call's ctx. Call it before the manager
// serves.
func SetTestHook(b *Backend, f func(ctx context.Context, point string)) { b.testHook = f }
