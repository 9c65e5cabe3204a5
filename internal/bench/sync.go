package bench

import "context"

// runSync measures the SyncManager rows (Dict[string,int], Queue[int], Queue[[]byte]).
func runSync(ctx context.Context, cfg *Config, r *Report) error {
	return runSyncRows(ctx, cfg, r)
}

var syncKeys = []struct {
	key, label, unit string
	anchors          []string
}{
	{"mgr.dict.set", "mgr Dict[string,int] Set, sequential", "ops/s", []string{"py.dict.set"}},
	{"mgr.dict.get", "mgr Dict[string,int] Get, sequential", "ops/s", []string{"py.dict.get"}},
	{"mgr.queue.single", "mgr Queue[int] put→get, 2 processes, one item per call", "items/s", []string{"py.queue.single"}},
	{"mgr.queue.batch", "mgr Queue[int] put→get, 2 processes, PutMany/GetMany of 64", "items/s", []string{"py.queue.single"}},
	{"mgr.queue.1k", "mgr Queue[[]byte] put→get, 1 KiB items, 2 processes", "items/s", []string{"py.queue.1k"}},
}
