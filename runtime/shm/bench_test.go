//go:build linux

package shm_test

import (
	"context"
	"testing"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/shm"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// BenchmarkHandOff64MiB hands 64 MiB from this process to the manager child process:
// copied into a shared block (the other process sees the pages, no call), versus one
// []byte call (Queue[[]byte].Put), versus the bytes there and back (Put + Get).
func BenchmarkHandOff64MiB(b *testing.B) {
	ctx := context.Background()
	m, err := mgr.Start(ctx, mgr.Options{MaxFrame: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Shutdown(ctx)
	data := make([]byte, 64<<20)
	for i := range data {
		data[i] = byte(i)
	}
	b.Run("shm-copy-in", func(b *testing.B) {
		blk, err := shm.CreateBlock(ctx, m.Client(), len(data))
		if err != nil {
			b.Fatal(err)
		}
		defer blk.Close(ctx)
		mp, err := shm.Open(ctx, blk)
		if err != nil {
			b.Fatal(err)
		}
		defer mp.Close()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			copy(mp.Bytes(), data)
		}
	})
	// A fresh block per iteration, from the manager's pool (a released block's memory,
	// cleared) and with the pool off (fresh pages every time). Back to back, the pool
	// may still be clearing the block released just before: then Create gets another
	// pooled one or fresh memory.
	nopool, err := mgr.Start(ctx, mgr.Options{MaxFrame: 1 << 30, Initializer: shm.PoolInitializer, InitArg: shm.PoolOptions{MaxBytes: -1}})
	if err != nil {
		b.Fatal(err)
	}
	defer nopool.Shutdown(ctx)
	for _, c := range []struct {
		name string
		m    *mgr.Manager
	}{{"shm-create-open-copy", m}, {"shm-create-open-copy-nopool", nopool}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				blk, err := shm.CreateBlock(ctx, c.m.Client(), len(data))
				if err != nil {
					b.Fatal(err)
				}
				mp, err := shm.Open(ctx, blk)
				if err != nil {
					b.Fatal(err)
				}
				copy(mp.Bytes(), data)
				mp.Close()
				blk.Close(ctx)
			}
		})
	}
	q, err := syncmgr.CreateQueue[[]byte](ctx, m.Client(), 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("bytes-call-put", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if err := q.Put(ctx, data); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if _, err := q.Get(ctx); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
	b.Run("bytes-call-put-get", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if err := q.Put(ctx, data); err != nil {
				b.Fatal(err)
			}
			if _, err := q.Get(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
