package gentest

import (
	"context"
	"testing"
	"time"
)

// TestWaitingMethodDoesNotStallItsObject is the newcomer's trap, gone: a method that
// takes a context (WaitFor) blocks in the manager, and a Put to the same object goes
// through at once and wakes it. mgrgen refuses a type with such a method unless it says
// concurrent or serialized (testdata/errors/stall.go); Mailbox says concurrent, and its
// TypeDesc is not Serialized.
func TestWaitingMethodDoesNotStallItsObject(t *testing.T) {
	ctx := context.Background()
	_, c := startManager(t)
	mb := must[*MailboxProxy](t)(CreateMailbox(ctx, c))

	type result struct {
		msg string
		err error
	}
	got := make(chan result, 1)
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	go func() {
		msg, err := mb.WaitFor(waitCtx)
		got <- result{msg, err}
	}()
	// Wait until WaitFor is blocked in the manager: a signal, not a sleep.
	for must[int](t)(mb.Waiting(ctx)) == 0 {
		select {
		case r := <-got:
			// Serialized, Waiting itself waits behind WaitFor until WaitFor gives up.
			t.Fatalf("WaitFor returned before any Put: %q, %v (calls of the object were stalled behind it)", r.msg, r.err)
		case <-time.After(time.Millisecond):
		}
	}
	// With one method at a time, this Put (and Waiting above) would wait behind WaitFor.
	putCtx, cancelPut := context.WithTimeout(ctx, 5*time.Second)
	defer cancelPut()
	if err := mb.Put(putCtx, "hello"); err != nil {
		t.Fatalf("Put while WaitFor waits: %v (the object is stalled behind WaitFor)", err)
	}
	if r := <-got; r.err != nil || r.msg != "hello" {
		t.Errorf("WaitFor = %q, %v; want hello", r.msg, r.err)
	}
}
