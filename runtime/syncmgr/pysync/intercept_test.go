package pysync_test

import (
	"context"
	"encoding/hex"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/mgr-go/mgr/internal/pythons"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// Calls from CPython clients go through the manager's interceptors like Go clients'
// calls: slow-call logging, the live page's call figures and OpenTelemetry see them.
func TestPythonCallsGoThroughInterceptors(t *testing.T) {
	pys := pythons.ForTest(t)
	var mu sync.Mutex
	var seen []string
	record := func(ctx context.Context, info *mgr.CallInfo, invoke func(context.Context) error) error {
		mu.Lock()
		seen = append(seen, info.TypeID+"."+info.Method)
		mu.Unlock()
		return invoke(ctx)
	}
	sock := filepath.Join(t.TempDir(), "py.sock")
	key := []byte("pysync test key")
	m, err := mgr.StartInProcess(mgr.Options{AuthKey: key, Python: mgr.Address{Network: "unix", Addr: sock}, ServerInterceptors: []mgr.Interceptor{record}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	cmd := pys[0].Command("-c", `import sys
from multiprocessing.managers import SyncManager
m = SyncManager(sys.argv[1], bytes.fromhex(sys.argv[2]))
m.connect()
d = m.dict()
d['a'] = 1
assert d['a'] == 1
print(str(d))  # a proxy's str asks the manager for __repr__; its repr does not ask
`, sock, hex.EncodeToString(key))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"__setitem__", "__getitem__", "__repr__"} {
		if !slices.ContainsFunc(seen, func(s string) bool { return len(s) > len(want) && s[len(s)-len(want):] == want }) {
			t.Errorf("the interceptor did not see %s; it saw %v", want, seen)
		}
	}
}
