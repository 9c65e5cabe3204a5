package mgr_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// The first call through a proxy learns its type's methods from the manager (a small
// control call) before it is sent. A first call whose arguments take the whole of the
// session's argument allowance (64 MiB) used to take its room first and then wait for
// room for that control call, which never came: it hung until its ctx ended.
func TestFirstCallLargerThanTheAllowanceIsSent(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{MaxFrame: 80 << 20})
	c, err := mgr.Connect(ctx, mgr.Options{Address: m.Address(), AuthKey: m.AuthKey(), MaxFrame: 80 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := createCounter(ctx, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	call := p.Begin(mAdd) // Add refuses these arguments: the manager's answer is enough
	call.Args.ByteSlice(make([]byte, 65<<20))
	cctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	_, err = call.Do(cctx)
	call.End()
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a first call with 65 MiB of arguments: err = %v, want the manager's refusal of its arguments", err)
	}
}
