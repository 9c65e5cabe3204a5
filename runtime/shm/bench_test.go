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
	b.Run("shm-create-open-copy", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			blk, err := shm.CreateBlock(ctx, m.Client(), len(data))
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
