package syncmgr_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// A proxy may travel inside an any once its type is registered, in every process.
func init() { mgr.RegisterValue[*syncmgr.ListProxy[int]]() }

// TestProxyInsideAnyIsALiveReference is the literal port of Python's
//
//	a = m.list(); b = m.list([1]); a.append(b); a[0].append(2)  # b is now [1, 2]
//
// into a List[any]: with *ListProxy[int] registered with mgr.RegisterValue, the proxy
// stored inside the any is a reference, not a copy. Another session that reads it gets a
// proxy to the same list, and what it appends is seen through the original; the
// container's reference keeps the list alive after its creator closes its proxy.
func TestProxyInsideAnyIsALiveReference(t *testing.T) {
	ctx := testCtx(t)
	m, c2 := startManager(t)
	a, err := syncmgr.CreateList[any](ctx, m.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := syncmgr.CreateList[int](ctx, m.Client(), []int{1})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Append(ctx, b); err != nil { // a.append(b)
		t.Fatal(err)
	}

	// Another session reads a[0] and appends to it.
	tok, err := a.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := syncmgr.AttachList[any](ctx, c2, tok)
	if err != nil {
		t.Fatal(err)
	}
	x, err := a2.Get(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	inner, ok := x.(*syncmgr.ListProxy[int])
	if !ok {
		t.Fatalf("a[0] is a %T, want *syncmgr.ListProxy[int]", x)
	}
	if inner.ObjectID() != b.ObjectID() {
		t.Fatalf("a[0] refers to object #%d, want b's #%d", inner.ObjectID(), b.ObjectID())
	}
	if err := inner.Append(ctx, 2); err != nil { // a[0].append(2)
		t.Fatal(err)
	}
	if got, err := b.Copy(ctx); err != nil || !cmp.Equal(got, []int{1, 2}) {
		t.Fatalf("b = %v, %v; want [1 2]: the proxy inside the any is not live", got, err)
	}

	// The list holds its own reference: b lives on after every proxy to it is closed.
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := inner.Close(ctx); err != nil {
		t.Fatal(err)
	}
	x, err = a.Get(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	again := x.(*syncmgr.ListProxy[int])
	defer again.Close(ctx)
	if got, err := again.Copy(ctx); err != nil || !cmp.Equal(got, []int{1, 2}) {
		t.Fatalf("b through a after its proxies were closed = %v, %v; want [1 2]", got, err)
	}
}
