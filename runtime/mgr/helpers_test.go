package mgr_test

import (
	"fmt"
	"os"
)

// helperRoleEnv makes the test binary act as a helper process (a client to kill, a
// parent whose death a manager must notice) instead of running tests.
const helperRoleEnv = "MGR_TEST_HELPER"

func runHelper(role string) int {
	switch role {
	case "start-manager-and-wait":
		return helperStartManagerAndWait()
	case "hold-and-block":
		return helperHoldAndBlock()
	case "load":
		return helperLoad()
	case "child-manager-nil-logf": // messages_test.go
		return helperChildManagerNilLogf()
	case "serve-forever": // resume_test.go
		return helperServeForever()
	case "pingpong": // bench_test.go: BenchmarkPingPong's peer
		return helperPingPong()
	default:
		fmt.Fprintf(os.Stderr, "unknown helper role %q\n", role)
		return 2
	}
}
