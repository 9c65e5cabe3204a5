package etcd_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/syncmgr"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	recipe "go.etcd.io/etcd/client/v3/experimental/recipes"
)

// Benchmarks: each operation through an etcd-backed manager (a syncmgr proxy → manager
// over loopback TCP → etcd) next to the same operation done directly with the etcd
// client (concurrency.Mutex, Put/Get, the recipe Queue), in the same run, on the same
// embedded etcd. The ratio manager/direct is the manager's cost; the goal is ≤ 1.3×.

func directClient(b *testing.B, ec *etcdCluster) *clientv3.Client {
	cli, err := clientv3.New(clientv3.Config{Endpoints: ec.endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cli.Close() })
	return cli
}

func BenchmarkLockUnlock(b *testing.B) {
	ec := startEtcd(b, 1)
	ctx := context.Background()
	b.Run("manager", func(b *testing.B) {
		c := connect(b, inProcManager(b, ec.endpoints, "bench-lock", 10*time.Second))
		l, err := syncmgr.LookupLock(ctx, c, "lock")
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := l.Acquire(ctx); err != nil {
				b.Fatal(err)
			}
			if err := l.Release(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("direct", func(b *testing.B) {
		cli := directClient(b, ec)
		s, err := concurrency.NewSession(cli, concurrency.WithTTL(10))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		m := concurrency.NewMutex(s, "bench-direct-lock/")
		for b.Loop() {
			if err := m.Lock(ctx); err != nil {
				b.Fatal(err)
			}
			if err := m.Unlock(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDictSetGet(b *testing.B) {
	ec := startEtcd(b, 1)
	ctx := context.Background()
	b.Run("manager", func(b *testing.B) {
		c := connect(b, inProcManager(b, ec.endpoints, "bench-dict", 10*time.Second))
		d, err := syncmgr.LookupDict[string, int](ctx, c, "d")
		if err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			i++
			if err := d.Set(ctx, "k", i); err != nil {
				b.Fatal(err)
			}
			if _, _, err := d.Get(ctx, "k"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("direct", func(b *testing.B) {
		cli := directClient(b, ec)
		i := 0
		for b.Loop() {
			i++
			if _, err := cli.Put(ctx, "bench-direct-dict/k", fmt.Sprint(i)); err != nil {
				b.Fatal(err)
			}
			if _, err := cli.Get(ctx, "bench-direct-dict/k"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkQueuePutGet(b *testing.B) {
	ec := startEtcd(b, 1)
	ctx := context.Background()
	b.Run("manager", func(b *testing.B) {
		c := connect(b, inProcManager(b, ec.endpoints, "bench-queue", 10*time.Second))
		q, err := syncmgr.LookupQueue[int](ctx, c, "q")
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := q.Put(ctx, 1); err != nil {
				b.Fatal(err)
			}
			if _, err := q.Get(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("direct", func(b *testing.B) {
		cli := directClient(b, ec)
		rq := recipe.NewQueue(cli, "bench-direct-queue")
		for b.Loop() {
			if err := rq.Enqueue("1"); err != nil {
				b.Fatal(err)
			}
			if _, err := rq.Dequeue(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkThroughput: 12 clients doing Dict.AddNumber on their own Dicts, all through
// one manager, or spread over three (all in this process, on one etcd).
func BenchmarkThroughput(b *testing.B) {
	ec := startEtcd(b, 1)
	ctx := context.Background()
	for _, managers := range []int{1, 3} {
		b.Run(fmt.Sprintf("managers=%d", managers), func(b *testing.B) {
			prefix := fmt.Sprintf("bench-tp-%d-%d", managers, time.Now().UnixNano())
			var ds []*syncmgr.DictProxy[string, int]
			for range managers {
				a := inProcManager(b, ec.endpoints, prefix, 10*time.Second)
				for range 12 / managers {
					c := connect(b, a)
					d, err := syncmgr.CreateDict[string, int](ctx, c)
					if err != nil {
						b.Fatal(err)
					}
					ds = append(ds, d)
				}
			}
			var next sync.Mutex
			k := 0
			b.SetParallelism(12)
			b.RunParallel(func(pb *testing.PB) {
				next.Lock()
				d := ds[k%len(ds)]
				k++
				next.Unlock()
				for pb.Next() {
					if _, err := d.AddNumber(ctx, "n", 1); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
