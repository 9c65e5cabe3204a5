package main

import (
	"strings"
	"testing"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// TestCommandCheckedBeforeAddress: with no manager address set, a mistyped command is
// reported as such (exit 2), not as a missing MGR_ADDRESS, and token needs only the key.
func TestCommandCheckedBeforeAddress(t *testing.T) {
	env := []string{mgr.EnvAddress + "=", mgr.EnvAuthKey + "=00ff"}
	if _, stderr, code := mgrctl(t, env, "frobnicate"); code != 2 || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("mgrctl frobnicate without an address: exit %d, %q; want exit 2 and unknown command", code, stderr)
	}
	if out, stderr, code := mgrctl(t, env, "token"); code != 0 || out != mgr.PageToken([]byte{0, 0xff})+"\n" {
		t.Errorf("mgrctl token without an address: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if _, stderr, code := mgrctl(t, env, "info"); code != 1 || !strings.Contains(stderr, "no manager address") {
		t.Errorf("mgrctl info without an address: exit %d, %q; want exit 1 and no manager address", code, stderr)
	}
}
