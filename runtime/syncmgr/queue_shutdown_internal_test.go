package syncmgr

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestQueueShutdownWakesWaiters: Shutdown wakes a Get waiting on an empty queue and a
// Put waiting on a full one, both failing with ErrShutDown; immediate drops the items
// and releases Join.
func TestQueueShutdownWakesWaiters(t *testing.T) {
	ctx := context.Background()
	empty, full := NewQueue[int](0), NewQueue[int](1)
	if err := full.Put(ctx, 1); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	go func() { _, err := empty.Get(ctx); errs <- err }()
	go func() { errs <- full.Put(ctx, 2) }()
	waiting := func(q *Queue[int], get bool) bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		if get {
			return q.getWaiters > 0
		}
		return q.putWaiters > 0
	}
	deadline := time.Now().Add(20 * time.Second)
	for !waiting(empty, true) || !waiting(full, false) {
		if time.Now().After(deadline) {
			t.Fatal("the Get and the Put never waited")
		}
		time.Sleep(time.Millisecond)
	}
	empty.Shutdown(false)
	full.Shutdown(true)
	for range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrShutDown) {
				t.Fatalf("woken with %v, want ErrShutDown", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Shutdown did not wake a waiter")
		}
	}
	if n := full.Qsize(); n != 0 {
		t.Fatalf("immediate shutdown left %d items", n)
	}
	jctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := full.Join(jctx); err != nil {
		t.Fatalf("Join after an immediate shutdown: %v", err)
	}
	if _, err := full.GetNowait(ctx); !errors.Is(err, ErrShutDown) {
		t.Fatalf("GetNowait of a shut-down empty queue: %v", err)
	}
}
