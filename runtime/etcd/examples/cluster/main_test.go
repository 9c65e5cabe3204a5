package main

import (
	"os"
	"testing"
)

// The test binary plays every part: the example re-executes os.Args[0] as its managers
// and workers.
func TestMain(m *testing.M) {
	if os.Getenv("CLUSTER_ROLE") != "" {
		os.Exit(Main(nil))
	}
	os.Exit(m.Run())
}

func TestCluster(t *testing.T) {
	items := "200"
	if testing.Short() {
		items = "80"
	}
	if code := Main([]string{"-items", items}); code != 0 {
		t.Fatalf("the example exited with %d", code)
	}
}
