package gentest

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestGetValueCopiesTheReferent: GetValue (Python's _getvalue()) returns a copy of the
// object in the manager, which later calls do not change; String describes the proxy
// (Python's repr of a proxy), not the referent.
func TestGetValueCopiesTheReferent(t *testing.T) {
	ctx := context.Background()
	_, c := startManager(t)
	s := must[*ScoreProxy](t)(CreateScore(ctx, c, "round 1"))
	defer s.Close(ctx)
	if err := s.Record(ctx, "ann", 3); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, "bob", 5); err != nil {
		t.Fatal(err)
	}
	got := must[Score](t)(s.GetValue(ctx))
	want := Score{Name: "round 1", Points: []int{3, 5}, Best: map[string]int{"ann": 3, "bob": 5}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetValue (-want +got):\n%s", diff)
	}
	// A copy: changing it changes nothing in the manager, and the manager's changes do
	// not reach it.
	got.Points[0] = 100
	if err := s.Record(ctx, "ann", 7); err != nil {
		t.Fatal(err)
	}
	again := must[Score](t)(s.GetValue(ctx))
	if !cmp.Equal(again.Points, []int{3, 5, 7}) || !cmp.Equal(got.Points, []int{100, 5}) {
		t.Errorf("after a change on each side: manager %v, copy %v", again.Points, got.Points)
	}
	// String is the proxy's description, never the referent's state.
	if str := s.String(); !strings.Contains(str, ScoreTypeID) || strings.Contains(str, "round 1") {
		t.Errorf("String() = %q: want the proxy described (type, object ID, manager), not the Score", str)
	}
}
