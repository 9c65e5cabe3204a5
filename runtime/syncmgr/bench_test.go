package syncmgr_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// The Dict and Queue operations mgrbench compares with Redis (HSET, HGET, LPUSH+BRPOP),
// one at a time through a proxy over the manager's Unix socket. "child" is a
// child-process manager (what mgrbench measures); "inproc" serves the manager from this
// process, so that one CPU profile (-cpuprofile) shows the client and the server side.

func benchManagers(b *testing.B, run func(b *testing.B, c *mgr.Client)) {
	ctx := context.Background()
	b.Run("child", func(b *testing.B) {
		m, err := syncmgr.Start(ctx, mgr.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer m.Shutdown(ctx)
		run(b, m.Client())
	})
	b.Run("inproc", func(b *testing.B) {
		m, err := syncmgr.StartInProcess(mgr.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer m.Shutdown(ctx)
		c, err := syncmgr.Connect(ctx, m.Options())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		run(b, c)
	})
}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
	}
	return keys
}

func BenchmarkDictSet(b *testing.B) {
	keys := benchKeys(4096)
	benchManagers(b, func(b *testing.B, c *mgr.Client) {
		ctx := context.Background()
		d, err := syncmgr.CreateDict[string, int](ctx, c)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := d.Set(ctx, keys[i%len(keys)], i); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkDictGetItem(b *testing.B) {
	keys := benchKeys(4096)
	benchManagers(b, func(b *testing.B, c *mgr.Client) {
		ctx := context.Background()
		d, err := syncmgr.CreateDict[string, int](ctx, c)
		if err != nil {
			b.Fatal(err)
		}
		for i, k := range keys {
			if err := d.Set(ctx, k, i); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := d.GetItem(ctx, keys[i%len(keys)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkQueuePutGet is one item Put then Get by the same client: two round trips.
func BenchmarkQueuePutGet(b *testing.B) {
	benchManagers(b, func(b *testing.B, c *mgr.Client) {
		ctx := context.Background()
		q, err := syncmgr.CreateQueue[int](ctx, c, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := q.Put(ctx, i); err != nil {
				b.Fatal(err)
			}
			if v, err := q.Get(ctx); err != nil || v != i {
				b.Fatalf("Get = %d, %v; want %d", v, err, i)
			}
			i++
		}
	})
}
