package mgr

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestPageStateListsAreNeverNull: a manager with no sessions and no objects (one whose
// only clients are CPython's) gives the page [] for both lists, not null, which the
// page's script would fail on ("Cannot read properties of null").
func TestPageStateListsAreNeverNull(t *testing.T) {
	key := []byte("page-empty-test-key")
	s, err := NewServer(Options{AuthKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	req, err := http.NewRequest("GET", hs.URL+"/state.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+PageToken(key))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("state.json: %s %q %v", resp.Status, body, err)
	}
	var st map[string]json.RawMessage
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("state.json is not JSON: %v: %s", err, body)
	}
	for _, k := range []string{"Sessions", "Objects"} {
		if string(st[k]) != "[]" {
			t.Errorf("state.json %s = %s, want []", k, st[k])
		}
	}
}
