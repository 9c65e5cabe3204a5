//go:build linux

package shm_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/shm"
)

// startPoolManager starts a child-process manager whose pool has options o.
func startPoolManager(t *testing.T, o shm.PoolOptions) *mgr.Manager {
	t.Helper()
	m, err := mgr.Start(testCtx(t), mgr.Options{Initializer: shm.PoolInitializer, InitArg: o})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	return m
}

// fdsLinkingTo returns process pid's descriptors whose /proc link is link.
func fdsLinkingTo(pid int, link string) []int {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	var fds []int
	for _, e := range ents {
		if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name())); l == link {
			n, _ := strconv.Atoi(e.Name())
			fds = append(fds, n)
		}
	}
	return fds
}

// holders returns every process but except that has the memfd of link open or mapped:
// its /proc/*/fd and /proc/*/maps, for every process this user may read.
func holders(link string, except int) []string {
	name := strings.TrimSuffix(strings.TrimPrefix(link, "/"), " (deleted)") // memfd:mgr-shm-…
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var found []string
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		if pid == except {
			continue
		}
		if fds := fdsLinkingTo(pid, link); len(fds) > 0 {
			found = append(found, fmt.Sprintf("pid %d fds %v", pid, fds))
		}
		if maps, err := os.ReadFile(d + "/maps"); err == nil && strings.Contains(string(maps), "/"+name+" ") {
			found = append(found, fmt.Sprintf("pid %d maps it", pid))
		}
	}
	return found
}

// waitPooled waits until the manager holds the released block's memfd under another
// descriptor than the block's, the pool's, and returns it.
func waitPooled(t *testing.T, m *mgr.Manager, link string, oldFD int) int {
	t.Helper()
	var fd int
	waitFor(t, func() bool {
		fds := fdsLinkingTo(m.PID(), link)
		if len(fds) == 1 && fds[0] != oldFD {
			fd = fds[0]
			return true
		}
		return false
	})
	return fd
}

// TestPoolRecyclesZeroed: a released block's memfd goes to the manager's pool, and the
// next block of a size it holds gets it back with every byte zero — the same size, and a
// smaller one (cut to size).
func TestPoolRecyclesZeroed(t *testing.T) {
	ctx := testCtx(t)
	m := startPoolManager(t, shm.PoolOptions{})
	const size = 1<<20 + 5000
	for _, next := range []int{size, 300_001} {
		b, link, d := blockLink(t, ctx, m, size)
		mp, err := shm.Open(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		buf := mp.Bytes()
		for i := range buf {
			buf[i] = 0xA5
		}
		mp.Close()
		if err := b.Close(ctx); err != nil {
			t.Fatal(err)
		}
		waitPooled(t, m, link, d.FD)
		if h := holders(link, m.PID()); len(h) > 0 {
			t.Fatalf("the pooled memfd is held outside the manager: %v", h)
		}

		b2, link2, d2 := blockLink(t, ctx, m, next)
		if link2 != link || d2.Ino != d.Ino {
			t.Fatalf("block of %d bytes after one of %d was released: memfd %q (inode %d), want the pooled %q (inode %d)", next, size, link2, d2.Ino, link, d.Ino)
		}
		if d2.FD == d.FD {
			t.Fatalf("the recycled memfd kept descriptor %d: a stale Desc would still open it", d.FD)
		}
		mp2, err := shm.Open(ctx, b2)
		if err != nil {
			t.Fatal(err)
		}
		if mp2.Len() != next || len(mp2.Bytes()) != next {
			t.Fatalf("recycled block maps %d bytes, want %d", len(mp2.Bytes()), next)
		}
		for i, v := range mp2.Bytes() {
			if v != 0 {
				t.Fatalf("recycled block of %d bytes: byte %d = %#x, the previous block's; want 0", next, i, v)
			}
		}
		st, err := os.Stat(fmt.Sprintf("/proc/%d/fd/%d", m.PID(), d2.FD))
		if err != nil || st.Size() != int64(next) {
			t.Fatalf("recycled memfd: %v, size %d, want %d", err, st.Size(), next)
		}
		mp2.Close()
		if err := b2.Close(ctx); err != nil {
			t.Fatal(err)
		}
		waitPooled(t, m, link, d2.FD) // back in the pool, for the next round
	}
}

// TestPooledAfterHoldersKilled: the holders of a block are kill -9'ed; the block's memfd
// then belongs to the manager alone — in its pool, open in no other process's /proc/*/fd,
// mapped in no /proc/*/maps — and an in-process manager's shutdown closes it.
func TestPooledAfterHoldersKilled(t *testing.T) {
	ctx := testCtx(t)
	m, err := mgr.StartInProcess(mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(ctx)
	c := m.Client()
	b, link, d := blockLink(t, ctx, m, 64<<10)
	var procs []*mgr.Process
	for i := range 2 {
		p, err := m.Spawn(ctx, "shm.hold", b, i)
		if err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
	}
	mp, err := shm.Open(ctx, b) // to see the workers' flags, then closed before the kill
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return mp.Bytes()[0] == 1 && mp.Bytes()[1] == 1 })
	mp.Close()
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if h := holders(link, os.Getpid()); len(h) != 2 {
		t.Fatalf("before the kill the memfd is held by %v, want the 2 workers' mappings", h)
	}
	for _, p := range procs {
		p.Kill()
	}
	waitFor(t, func() bool {
		info, err := c.Info(ctx)
		return err == nil && blockRefs(info) < 0
	})
	waitPooled(t, m, link, d.FD)
	if h := holders(link, os.Getpid()); len(h) > 0 {
		t.Fatalf("the pooled memfd is held outside the manager: %v", h)
	}
	if maps, _ := os.ReadFile("/proc/self/maps"); strings.Contains(string(maps), strings.TrimSuffix(strings.TrimPrefix(link, "/"), " (deleted)")) {
		t.Fatal("the manager process maps the pooled memfd")
	}
	if err := m.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(fdsLinkingTo(os.Getpid(), link)) == 0 })
}

// TestPoolBounds: a released block goes, not to the pool, when the pool is off, when it
// is bigger than the pool's bound, and when some process still maps it (the existing
// mapping keeps the memory; nobody else ever sees it); and the pool frees what waited
// MaxIdle.
func TestPoolBounds(t *testing.T) {
	ctx := testCtx(t)
	gone := func(m *mgr.Manager, link string) func() bool {
		return func() bool { return len(fdsLinkingTo(m.PID(), link)) == 0 }
	}
	t.Run("off", func(t *testing.T) {
		m := startPoolManager(t, shm.PoolOptions{MaxBytes: -1})
		b, link, d := blockLink(t, ctx, m, 8192)
		if d.Pooled {
			t.Error("Desc.Pooled with the pool off")
		}
		b.Close(ctx)
		waitFor(t, gone(m, link))
	})
	t.Run("too big", func(t *testing.T) {
		m := startPoolManager(t, shm.PoolOptions{MaxBytes: 16 << 10})
		b, link, _ := blockLink(t, ctx, m, 64<<10)
		b.Close(ctx)
		waitFor(t, gone(m, link))
	})
	t.Run("still mapped", func(t *testing.T) {
		m := startPoolManager(t, shm.PoolOptions{})
		b, link, _ := blockLink(t, ctx, m, 64<<10)
		mp, err := shm.Open(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		mp.Bytes()[7] = 7
		b.Close(ctx)
		waitFor(t, gone(m, link))
		if mp.Bytes()[7] != 7 {
			t.Fatal("the mapping lost its bytes")
		}
		mp.Close()
	})
	t.Run("idle", func(t *testing.T) {
		m := startPoolManager(t, shm.PoolOptions{MaxIdle: 200 * time.Millisecond})
		b, link, d := blockLink(t, ctx, m, 64<<10)
		b.Close(ctx)
		waitPooled(t, m, link, d.FD)
		waitFor(t, gone(m, link))
	})
}

// TestSetPoolWhileReleasing changes the pool's bounds while released blocks enter it
// (run with -race: the bounds are read under the pool's lock), and every block made
// meanwhile is still all zeros.
func TestSetPoolWhileReleasing(t *testing.T) {
	ctx := testCtx(t)
	m, err := mgr.StartInProcess(mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(ctx)
	done := make(chan struct{})
	setter := make(chan struct{})
	go func() {
		defer close(setter)
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			shm.SetPool(m.Server(), shm.PoolOptions{MaxBytes: int64(i%3-1) << 20}) // off, default, 1 MiB
		}
	}()
	defer func() { close(done); <-setter }()
	for i := range 100 {
		b, err := shm.CreateBlock(ctx, m.Client(), 8192)
		if err != nil {
			t.Fatal(err)
		}
		mp, err := shm.Open(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		for j, v := range mp.Bytes() {
			if v != 0 {
				t.Fatalf("block %d: byte %d = %#x, want 0", i, j, v)
			}
		}
		mp.Bytes()[100] = 0xA5
		mp.Close()
		if err := b.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
