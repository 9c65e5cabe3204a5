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
	default:
		fmt.Fprintf(os.Stderr, "unknown helper role %q\n", role)
		return 2
	}
}
