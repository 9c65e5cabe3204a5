package pysync_test

import (
	"context"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mgr-go/mgr/internal/pythons"
	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// goOnly is a Go value a Go client can store in a dict or list it shares with Python
// but that has no Python form: a reply holding it cannot be pickled.
type goOnly struct{ N int }

func init() { mgr.RegisterValue[goOnly]() }

// TestPopOfUnpicklableLosesNothing pops, from Python, values a Go client stored that
// cannot be pickled: each pop fails with an error and the value stays where it was —
// taking it out and then failing to send it would lose it.
func TestPopOfUnpicklableLosesNothing(t *testing.T) {
	for _, py := range pythons.ForTest(t) {
		t.Run(py.Version, func(t *testing.T) {
			m, sock, key := start(t)
			srv := m.Server()
			ctx := context.Background()
			if err := srv.AddNamed("table", syncmgr.DictTypeID[any, any](), syncmgr.NewDict[any, any]()); err != nil {
				t.Fatal(err)
			}
			if err := srv.AddNamed("items", syncmgr.ListTypeID[any](), syncmgr.NewList[any](nil)); err != nil {
				t.Fatal(err)
			}
			for typeid, name := range map[string]string{"get_table": "table", "get_items": "items"} {
				if err := srv.SharePython(typeid, name, nil); err != nil {
					t.Fatal(err)
				}
			}
			table, err := syncmgr.LookupDict[any, any](ctx, m.Client(), "table")
			if err != nil {
				t.Fatal(err)
			}
			items, err := syncmgr.LookupList[any](ctx, m.Client(), "items")
			if err != nil {
				t.Fatal(err)
			}
			if err := table.Set(ctx, "go", goOnly{1}); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if err := items.Append(ctx, goOnly{i}); err != nil {
					t.Fatal(err)
				}
			}
			cmd := py.Command(filepath.Join("testdata", "pop_unpicklable.py"), sock, hex.EncodeToString(key))
			if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "OK") {
				t.Fatalf("python: %v\n%s", err, out)
			}
			if v, ok, err := table.Get(ctx, "go"); err != nil || !ok || v != (goOnly{1}) {
				t.Errorf("the dict's value after Python's failed pops: %#v, %v, %v; want goOnly{1}", v, ok, err)
			}
			for i := range 3 {
				if v, err := items.Get(ctx, i); err != nil || v != (goOnly{i}) {
					t.Errorf("list item %d after Python's failed pops: %#v, %v; want goOnly{%d}", i, v, err, i)
				}
			}
		})
	}
}
