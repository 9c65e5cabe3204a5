package bench

import (
	"os"
	"testing"

	"github.com/mgr-go/mgr/runtime/mgr"
)

func TestMain(m *testing.M) {
	mgr.RunChild() // manager children and pool workers are this test binary
	RunRole()      // and so are the benchmark's peers
	os.Exit(m.Run())
}
