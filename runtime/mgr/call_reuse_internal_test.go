package mgr

import "testing"

// A Call goes back to the pool without the marks of its last use: a Cancel sent for it
// must not be sent again, by a resume, for the call that reuses it.
func TestPutCallClearsCancelSent(t *testing.T) {
	c := &Client{}
	c.calls.New = func() any { return &Call{done: make(chan struct{}, 1), ack: make(chan struct{}, 1), conn: c} }
	call := c.newCall(&Handle{owner: c, typeID: "t"}, 0)
	call.cancelSent.Store(true)
	c.putCall(call)
	if call.cancelSent.Load() {
		t.Fatal("a pooled Call keeps cancelSent: a resume would cancel its next use")
	}
}
