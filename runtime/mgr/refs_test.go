package mgr

import "testing"

func TestRefCounts(t *testing.T) {
	var r refCounts
	check := func(want map[uint64]int) {
		t.Helper()
		got := map[uint64]int{}
		for s, n := range r.all {
			got[s] = n
		}
		if len(got) != len(want) || r.len() != len(want) {
			t.Fatalf("holders %v (len %d), want %v", got, r.len(), want)
		}
		for s, n := range want {
			if got[s] != n || r.get(s) != n {
				t.Fatalf("session %d: %d (get %d), want %d", s, got[s], r.get(s), n)
			}
		}
	}
	r.add(1, 1)
	r.add(1, 1)
	check(map[uint64]int{1: 2})
	r.add(2, 1)
	r.add(0, 3)
	check(map[uint64]int{1: 2, 2: 1, 0: 3})
	r.add(1, -2) // the inline holder leaves: one from the map takes its place
	check(map[uint64]int{2: 1, 0: 3})
	r.add(2, -1)
	r.add(0, -3)
	check(map[uint64]int{})
	if r.more != nil {
		t.Fatalf("map kept after the last holder left")
	}
	r.add(5, -1) // dropping what is not held changes nothing
	check(map[uint64]int{})
	r.add(7, 1)
	r.add(7, -5)
	check(map[uint64]int{})
}
