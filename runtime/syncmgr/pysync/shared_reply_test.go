package pysync_test

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/pyproto/pyclient"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// TestSharedListsFromPythonStopAtTheReplyLimit: a CPython client may put a list that
// holds one list twice, which holds one list twice, many levels down: a few bytes of
// pickle (the memo shares them), a []any in the manager that shares them too. A Go
// client's Get writes it with the codec, which spells every use out: 2^depth lists. The
// reply must stop at the reply limit as it is written, not after writing all of it (at
// depth 40, terabytes: the manager ran out of memory).
func TestSharedListsFromPythonStopAtTheReplyLimit(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "py.sock")
	key := []byte("pysync test key")
	m, err := mgr.StartInProcess(mgr.Options{AuthKey: key, Python: mgr.Address{Network: "unix", Addr: sock}, MaxFrame: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	srv := m.Server()
	if err := srv.AddNamed("q", syncmgr.QueueTypeID[any](), syncmgr.NewQueue[any](0)); err != nil {
		t.Fatal(err)
	}
	if err := srv.SharePython("get_q", "q", nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pc, err := pyclient.Dial(ctx, "unix", sock, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	pq, err := pc.Create(ctx, "get_q")
	if err != nil {
		t.Fatal(err)
	}
	x := []any{int64(1)}
	for range 22 {
		x = []any{x, x}
	}
	if _, err := pq.Call(ctx, "put", x); err != nil {
		t.Fatal(err)
	}
	q, err := syncmgr.LookupQueue[any](ctx, m.Client(), "q")
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = q.Get(ctx)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("Get: %v; %d bytes allocated", err, alloc)
	if !errors.Is(err, mgr.ErrFrameTooLarge) {
		t.Errorf("Get of 2^22 shared lists with a 64 KiB reply limit: %v, want ErrFrameTooLarge", err)
	}
	if alloc > 8<<20 {
		t.Errorf("writing a reply limited to 64 KiB allocated %d MB", alloc>>20)
	}
}
