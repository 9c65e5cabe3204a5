package syncmgr_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// TestValueStateOfLargeValue: a Value's state shows its first 80 bytes of text, so
// describing a large one must not format all of it. Client.Info, mgrctl and the live
// page (every second) asked for it: a 32 MiB []byte was formatted whole, over 100 MB of
// text, under the Value's lock, which its Get and Set callers waited on meanwhile.
func TestValueStateOfLargeValue(t *testing.T) {
	cases := map[string]mgr.StateReporter{
		"bytes":  syncmgr.NewValue(make([]byte, 32<<20)),
		"ints":   syncmgr.NewValue(make([]int64, 4<<20)),
		"string": syncmgr.NewValue(strings.Repeat("s", 32<<20)),
		"map":    syncmgr.NewValue(bigMap()),
	}
	for name, v := range cases {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		st := v.MgrState()
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Errorf("%s: describing the value allocated %d bytes", name, n)
		}
		s, _ := st.Field("value").(string)
		if len(s) == 0 || len(s) > 80 {
			t.Errorf("%s: value field %q, want 1 to 80 bytes", name, s)
		}
	}
	if st := syncmgr.NewValue([]int{1, 2, 3}).MgrState(); st.Field("value") != "[1 2 3]" {
		t.Errorf("small value shown as %q", st.Field("value"))
	}
}

func bigMap() map[int]string {
	m := make(map[int]string, 1<<18)
	for i := range 1 << 18 {
		m[i] = "v"
	}
	return m
}
