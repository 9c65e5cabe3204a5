//go:build linux

package shm_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/shm"
)

func init() {
	mgr.RegisterWorker("shm.write", writeWorker)
	mgr.RegisterWorker("shm.views", viewsWorker)
	mgr.RegisterWorker("shm.hold", holdWorker)
}

func TestMain(m *testing.M) {
	mgr.RunChild()
	os.Exit(m.Run())
}

func openArg(ctx context.Context, w *mgr.WorkerEnv) (*shm.Mapping, error) {
	b, err := mgr.AttachArg(ctx, w, 0, shm.AttachBlock)
	if err != nil {
		return nil, err
	}
	return shm.Open(ctx, b)
}

// writeWorker checks the byte the parent wrote and fills the block with a pattern.
func writeWorker(ctx context.Context, w *mgr.WorkerEnv) error {
	m, err := openArg(ctx, w)
	if err != nil {
		return err
	}
	defer m.Close()
	buf := m.Bytes()
	if buf[0] != 42 {
		return fmt.Errorf("byte 0 = %d, the parent wrote 42", buf[0])
	}
	for i := range buf {
		buf[i] = byte(i*7 + 1)
	}
	return nil
}

// viewsWorker writes through typed views: float64s in the first half, int64s in the
// second.
func viewsWorker(ctx context.Context, w *mgr.WorkerEnv) error {
	m, err := openArg(ctx, w)
	if err != nil {
		return err
	}
	defer m.Close()
	half := m.Len() / 2
	fs, err := shm.ViewAt[float64](m, 0, half/8)
	if err != nil {
		return err
	}
	is, err := shm.ViewAt[int64](m, half, half/8)
	if err != nil {
		return err
	}
	for i := range fs {
		fs[i] = float64(i) * 0.5
		is[i] = -int64(i) * 3
	}
	return nil
}

// holdWorker maps the block, raises its flag byte (argument 1) and waits to be killed.
func holdWorker(ctx context.Context, w *mgr.WorkerEnv) error {
	m, err := openArg(ctx, w)
	if err != nil {
		return err
	}
	i, err := mgr.WorkerArg[int](w, 1)
	if err != nil {
		return err
	}
	m.Bytes()[i] = 1
	<-ctx.Done()
	return nil
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startManager starts a child-process manager, so that its descriptors are another
// process's, as in real use.
func startManager(t *testing.T) *mgr.Manager {
	t.Helper()
	m, err := mgr.Start(testCtx(t), mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	return m
}

func runWorker(t *testing.T, ctx context.Context, m *mgr.Manager, name string, args ...any) {
	t.Helper()
	p, err := m.Spawn(ctx, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	if code, err := p.Wait(ctx); code != 0 || err != nil {
		t.Fatalf("worker %s: exit %d, %v", name, code, err)
	}
}

func TestWorkerWritesParentReads(t *testing.T) {
	ctx := testCtx(t)
	m := startManager(t)
	const size = 1<<20 + 3
	b, err := shm.CreateBlock(ctx, m.Client(), size)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	mp, err := shm.Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer mp.Close()
	buf := mp.Bytes()
	if len(buf) != size || mp.Len() != size {
		t.Fatalf("mapping of %d bytes, want %d", len(buf), size)
	}
	buf[0] = 42
	runWorker(t, ctx, m, "shm.write", b)
	for i, v := range buf {
		if v != byte(i*7+1) {
			t.Fatalf("byte %d = %d, the worker wrote %d", i, v, byte(i*7+1))
		}
	}
}

func TestTypedViews(t *testing.T) {
	ctx := testCtx(t)
	m := startManager(t)
	b, err := shm.CreateBlock(ctx, m.Client(), 2*8*1000)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	runWorker(t, ctx, m, "shm.views", b)
	mp, err := shm.Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer mp.Close()
	fs, err := shm.ViewAt[float64](mp, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	is, err := shm.ViewAt[int64](mp, 8000, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		if fs[i] != float64(i)*0.5 || is[i] != -int64(i)*3 {
			t.Fatalf("element %d: %v, %v", i, fs[i], is[i])
		}
	}
	all, err := shm.View[uint32](mp)
	if err != nil || len(all) != 4000 {
		t.Fatalf("View[uint32]: %d elements, %v; want 4000", len(all), err)
	}
	for _, c := range []struct{ off, n int }{{3, 1}, {0, 2001}, {-8, 1}, {15992, 2}} {
		if _, err := shm.ViewAt[float64](mp, c.off, c.n); !errors.Is(err, shm.ErrView) {
			t.Errorf("ViewAt(%d, %d): %v, want ErrView", c.off, c.n, err)
		}
	}
}

// memfdOf returns what /proc/<pid>/fd/<fd> links to, or "" if nothing.
func memfdOf(pid, fd int) string {
	s, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd))
	return s
}

// blockLink creates a block of size bytes and returns it with what its memfd's /proc
// link reads (unique to the memfd: its name is random) and its Desc.
func blockLink(t *testing.T, ctx context.Context, m *mgr.Manager, size int) (*shm.BlockProxy, string, shm.Desc) {
	t.Helper()
	b, err := shm.CreateBlock(ctx, m.Client(), size)
	if err != nil {
		t.Fatal(err)
	}
	d, err := b.Desc(ctx)
	if err != nil {
		t.Fatal(err)
	}
	link := memfdOf(m.PID(), d.FD)
	if !strings.Contains(link, "memfd:mgr-shm-") {
		t.Fatalf("/proc/%d/fd/%d links to %q, want the block's memfd", m.PID(), d.FD, link)
	}
	return b, link, d
}

func TestHoldersKilledReleasesBlock(t *testing.T) {
	ctx := testCtx(t)
	m := startManager(t)
	c := m.Client()
	b, link, _ := blockLink(t, ctx, m, 4096)
	mp, err := shm.Open(ctx, b) // an observer's mapping: not a reference
	if err != nil {
		t.Fatal(err)
	}
	defer mp.Close()
	var procs []*mgr.Process
	for i := range 2 {
		p, err := m.Spawn(ctx, "shm.hold", b, i)
		if err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
	}
	waitFor(t, func() bool { return mp.Bytes()[0] == 1 && mp.Bytes()[1] == 1 })
	if err := b.Close(ctx); err != nil { // the workers are the only holders now
		t.Fatal(err)
	}
	if info, err := c.Info(ctx); err != nil || blockRefs(info) != 2 {
		t.Fatalf("before the kill: %d references to the block (%v), want the 2 workers'", blockRefs(info), err)
	}
	for _, p := range procs {
		p.Kill()
	}
	waitFor(t, func() bool {
		info, err := c.Info(ctx)
		// Closed, not pooled: the observer's mapping still shows the memory (the pool
		// takes only a memfd nobody maps), so no descriptor of the manager names it.
		return err == nil && blockRefs(info) < 0 && len(fdsLinkingTo(m.PID(), link)) == 0
	})
	if mp.Bytes()[1] != 1 { // an existing mapping outlives the block
		t.Fatal("the observer's mapping lost its bytes")
	}
}

// blockRefs returns the references to the only shm.Block in info, -1 if there is none.
func blockRefs(info mgr.Info) int {
	for _, o := range info.Objects {
		if o.TypeID == "shm.Block" {
			return o.Refs
		}
	}
	return -1
}

func TestReleasedOnLastClose(t *testing.T) {
	ctx := testCtx(t)
	m, err := mgr.StartInProcess(mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(ctx)
	b, link, d := blockLink(t, ctx, m, 100)
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The pool (on by default) keeps the memfd under another descriptor, or closes it.
	waitFor(t, func() bool { return memfdOf(os.Getpid(), d.FD) != link })
	if n := m.Server().NumObjects(); n != 0 {
		t.Fatalf("%d objects left", n)
	}
	if _, err := shm.CreateBlock(ctx, m.Client(), 0); err == nil {
		t.Fatal("a block of 0 bytes was created")
	}
}

// waitFor polls cond — another process's state has no event to wait on — failing after
// 20 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
