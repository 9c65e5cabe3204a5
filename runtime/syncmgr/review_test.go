package syncmgr_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// Range with a huge limit ("everything from offset") must not overflow offset+limit.
func TestListRangeHugeLimit(t *testing.T) {
	ctx := testCtx(t)
	m, _ := startManager(t)
	l := must[*syncmgr.ListProxy[int]](t)(syncmgr.CreateList[int](ctx, m.Client(), []int{1, 2, 3}))
	got, err := l.Range(ctx, 1, math.MaxInt)
	if err != nil || !slices.Equal(got, []int{2, 3}) {
		t.Fatalf("Range(1, MaxInt) = %v, %v; want [2 3]", got, err)
	}
}

// A waiter that was notified but gave up before it could take the lock back must pass
// the notification on: otherwise Notify(1) wakes nobody and the other waiter sleeps on.
func TestConditionCancelledNotifiedWaiterPassesNotificationOn(t *testing.T) {
	ctx := testCtx(t)
	m, c2 := startManager(t)
	cond := must[*syncmgr.ConditionProxy](t)(syncmgr.CreateCondition(ctx, m.Client(), nil, nil))
	tok := must[mgr.Token](t)(cond.Token(ctx))
	cond2 := must[*syncmgr.ConditionProxy](t)(syncmgr.AttachCondition(ctx, c2, tok))
	c3, err := syncmgr.Connect(ctx, m.Options())
	check(t, err)
	defer c3.Close()
	cond3 := must[*syncmgr.ConditionProxy](t)(syncmgr.AttachCondition(ctx, c3, must[mgr.Token](t)(cond.Token(ctx))))

	// Waiter 1 (session 2) and waiter 2 (session 3) park in Wait, in that order.
	w1ctx, cancelW1 := context.WithCancel(ctx)
	defer cancelW1()
	w1 := make(chan error, 1)
	check(t, cond2.Acquire(ctx))
	go func() { w1 <- cond2.Wait(w1ctx) }()
	waitUntil(t, "waiter 1 parked", func() (bool, error) { n, err := cond.Waiting(ctx); return n == 1, err })
	w2 := make(chan error, 1)
	check(t, cond3.Acquire(ctx))
	go func() { w2 <- cond3.Wait(ctx) }()
	waitUntil(t, "waiter 2 parked", func() (bool, error) { n, err := cond.Waiting(ctx); return n == 2, err })

	// Session 1 notifies one waiter (the oldest) and keeps the lock, so waiter 1 is stuck
	// re-acquiring it; then waiter 1 gives up.
	check(t, cond.Acquire(ctx))
	check(t, cond.Notify(ctx, 1))
	cancelW1()
	if err := <-w1; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter 1: %v, want context.Canceled", err)
	}
	check(t, cond.Release(ctx))

	// The notification waiter 1 could not use reaches waiter 2.
	select {
	case err := <-w2:
		check(t, err)
		check(t, cond3.Release(ctx))
	case <-time.After(10 * time.Second):
		t.Fatal("waiter 2 was never woken: the notification was lost with the cancelled waiter")
	}
}
