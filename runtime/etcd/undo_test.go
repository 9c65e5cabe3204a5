package etcd_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// TestPopWhoseReplyFailsKeepsCopyTrue: syncmgr's Dict.Pop registers an undo (put the value
// back) for a reply that never reaches its caller. The etcd backend runs the method on
// its cached copy of the state and writes the outcome to etcd; were the undo to run, it
// would put the value back into the copy alone, and this manager would then read a key
// that etcd no longer has. The backend runs methods without undo (mgr.WithoutUndo): what
// it reads afterwards is what etcd holds.
func TestPopWhoseReplyFailsKeepsCopyTrue(t *testing.T) {
	ec := startEtcd(t, 1)
	ctx := testCtx(t, 60*time.Second)
	at := inProcManager(t, ec.endpoints, "popundo", 3*time.Second)
	c := connect(t, at)
	small, err := mgr.Connect(ctx, mgr.Options{Address: at, AuthKey: testKey, MaxFrame: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	d, err := syncmgr.CreateDict[string, string](ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Set(ctx, "big", strings.Repeat("x", 100<<10)); err != nil {
		t.Fatal(err)
	}
	tok, err := d.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := syncmgr.AttachDict[string, string](ctx, small, tok)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ds.Pop(ctx, "big"); !errors.Is(err, mgr.ErrFrameTooLarge) {
		t.Fatalf("Pop of a 100 KiB value for a client with MaxFrame 64 KiB: %v, want ErrFrameTooLarge", err)
	}
	n, err := ds.Len(ctx) // through the proxy whose Pop failed
	if err != nil {
		t.Fatal(err)
	}
	// Reading through another manager on the same etcd tells what etcd holds.
	tok2, err := d.Token(ctx) // a token attaches once
	if err != nil {
		t.Fatal(err)
	}
	d2, err := syncmgr.AttachDict[string, string](ctx, connect(t, inProcManager(t, ec.endpoints, "popundo", 3*time.Second)), tok2)
	if err != nil {
		t.Fatal(err)
	}
	n2, err := d2.Len(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != n2 {
		t.Fatalf("after the failed Pop this manager reads %d keys and etcd holds %d: the manager's copy went astray", n, n2)
	}
}
