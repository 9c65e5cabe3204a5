package mgr

import (
	"testing"
)

// A client acknowledges large frames by their bytes, not only every ackEvery frames: the
// manager keeps every unacknowledged frame for a resume, and a few dozen replies of
// 100 KB are megabytes of log. (The idle tick acknowledges too, every 250 ms; these
// calls take far less, so it is the byte count that acknowledges here.)
func TestClientAcknowledgesLargeFramesByBytes(t *testing.T) {
	ctx, m := startInProcessT(t)
	c, err := Connect(ctx, m.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h, err := c.Create(ctx, r2holdID, nil)
	if err != nil {
		t.Fatal(err)
	}
	const size = 100 << 10
	p := MakeProxyBase(h)
	for i := range ackBytes/size + 1 {
		call := p.Begin(r2Fill)
		call.Args.Int64(size)
		res, err := call.Do(ctx)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if b := res.ByteSlice(); len(b) != size {
			t.Fatalf("call %d: %d bytes", i, len(b))
		}
		if err := call.End(); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if n := c.recv.Load(); n >= ackEvery {
		t.Fatalf("%d frames received: the frame count alone would acknowledge", n)
	}
	if a, n := c.acked.Load(), c.recv.Load(); a+1 < n {
		t.Fatalf("acknowledged %d of %d frames after %d KiB of replies", a, n, (ackBytes/size+1)*size>>10)
	}
}
