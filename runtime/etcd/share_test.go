package etcd_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// createdKeys returns the keys of the created objects under prefix, by object ID, with
// their reference keys (kept under <prefix>/refs/<id>/) as "ref/<rest>".
func createdKeys(t *testing.T, ctx context.Context, cli *clientv3.Client, prefix string) map[string][]string {
	t.Helper()
	m := map[string][]string{}
	for _, dir := range []struct{ prefix, as string }{{prefix + "/o/c/", ""}, {prefix + "/refs/", "ref/"}} {
		r, err := cli.Get(ctx, dir.prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range r.Kvs {
			id, rest, _ := strings.Cut(strings.TrimPrefix(string(kv.Key), dir.prefix), "/")
			m[id] = append(m[id], dir.as+rest)
		}
	}
	return m
}

// waitKeys waits until ok holds of the created objects' keys.
func waitKeys(t *testing.T, ctx context.Context, cli *clientv3.Client, prefix, what string, ok func(map[string][]string) bool) {
	t.Helper()
	for backoff := 10 * time.Millisecond; ; backoff = min(2*backoff, 200*time.Millisecond) {
		m := createdKeys(t, ctx, cli, prefix)
		if ok(m) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: never; created objects' keys: %v", what, m)
		case <-time.After(backoff):
		}
	}
}

func refCount(keys []string) int {
	n := 0
	for _, k := range keys {
		if strings.HasPrefix(k, "ref/") {
			n++
		}
	}
	return n
}

// A token of a created object minted on manager A (a process) attaches on manager B
// (another process of the same cluster); the object is collected once both release it.
// Then: A is killed while B holds another such object: B's reference keeps it alive
// past A's lease, and B's release collects it.
func TestTokenAttachesOnAnotherManager(t *testing.T) {
	ec := startEtcd(t, 1)
	const ttl = 2 * time.Second
	mps, addrs := startManagers(t, ec.endpoints, "share", ttl, 2)
	ctx := testCtx(t, 90*time.Second)
	ca, cb := connect(t, addrs[0]), connect(t, addrs[1])
	cli, err := clientv3.New(clientv3.Config{Endpoints: ec.endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	// Passed as text, as between processes.
	share := func(d *syncmgr.DictProxy[string, int]) mgr.Token {
		t.Helper()
		tok, err := d.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		back, err := mgr.ParseToken(tok.String())
		if err != nil || back != tok {
			t.Fatalf("token %v round-trips as %v, %v", tok, back, err)
		}
		return back
	}

	da, err := syncmgr.CreateDict[string, int](ctx, ca)
	if err != nil {
		t.Fatal(err)
	}
	if err := da.Set(ctx, "a", 1); err != nil {
		t.Fatal(err)
	}
	tok := share(da)
	db, err := syncmgr.AttachDict[string, int](ctx, cb, tok)
	if err != nil {
		t.Fatalf("attach on B a token made on A: %v", err)
	}
	if _, err := syncmgr.AttachDict[string, int](ctx, cb, tok); !errors.Is(err, mgr.ErrBadToken) {
		t.Fatalf("second attach of the token: %v, want ErrBadToken", err)
	}
	if x, ok, err := db.Get(ctx, "a"); x != 1 || !ok || err != nil {
		t.Fatalf("Get on B: %d, %v, %v", x, ok, err)
	}
	if err := db.Set(ctx, "b", 2); err != nil {
		t.Fatal(err)
	}
	if x, ok, err := da.Get(ctx, "b"); x != 2 || !ok || err != nil {
		t.Fatalf("Get on A of B's write: %d, %v, %v", x, ok, err)
	}
	if m := createdKeys(t, ctx, cli, "share"); len(m) != 1 {
		t.Fatalf("created objects: %v, want one", m)
	}
	for id, keys := range createdKeys(t, ctx, cli, "share") {
		if refCount(keys) != 2 {
			t.Fatalf("object %s: keys %v, want a reference of each manager", id, keys)
		}
	}
	// Release on B first: A's reference keeps the object.
	if err := db.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if x, _, err := da.Get(ctx, "b"); x != 2 || err != nil {
		t.Fatalf("A's reference after B released: %d, %v", x, err)
	}
	if err := da.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitKeys(t, ctx, cli, "share", "the object collected after both released", func(m map[string][]string) bool { return len(m) == 0 })

	// The minting side releases right after making the token: the token's hand-over
	// keeps the object until B attaches.
	d3, err := syncmgr.CreateDict[string, int](ctx, ca)
	if err != nil {
		t.Fatal(err)
	}
	if err := d3.Set(ctx, "z", 26); err != nil {
		t.Fatal(err)
	}
	tok3 := share(d3)
	if err := d3.Close(ctx); err != nil {
		t.Fatal(err)
	}
	d3b, err := syncmgr.AttachDict[string, int](ctx, cb, tok3)
	if err != nil {
		t.Fatalf("attach after the maker released: %v", err)
	}
	if x, ok, err := d3b.Get(ctx, "z"); x != 26 || !ok || err != nil {
		t.Fatalf("Get on B: %d, %v, %v", x, ok, err)
	}
	if err := d3b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitKeys(t, ctx, cli, "share", "the handed-over object collected", func(m map[string][]string) bool { return len(m) == 0 })

	// A killed while B holds the object.
	d2, err := syncmgr.CreateDict[string, int](ctx, ca)
	if err != nil {
		t.Fatal(err)
	}
	if err := d2.Set(ctx, "k", 7); err != nil {
		t.Fatal(err)
	}
	d2b, err := syncmgr.AttachDict[string, int](ctx, cb, share(d2))
	if err != nil {
		t.Fatal(err)
	}
	mps[0].cmd.Process.Kill()
	<-mps[0].done
	killed := time.Now()
	waitKeys(t, ctx, cli, "share", "A's reference expired", func(m map[string][]string) bool {
		for _, keys := range m {
			return refCount(keys) == 1
		}
		return false
	})
	t.Logf("A's reference expired %v after the kill (TTL %v)", time.Since(killed).Round(time.Millisecond), ttl)
	if x, ok, err := d2b.Get(ctx, "k"); x != 7 || !ok || err != nil {
		t.Fatalf("B's object after A died: %d, %v, %v", x, ok, err)
	}
	if err := d2b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitKeys(t, ctx, cli, "share", "the object collected after B released", func(m map[string][]string) bool { return len(m) == 0 })
}
