package mgr

import (
	"strings"
	"testing"
)

// TestUnregisteredGoTypeErrorAdvisesRegisterValue: a Go type nobody registered cannot
// travel inside an interface, and the error says what to do.
func TestUnregisteredGoTypeErrorAdvisesRegisterValue(t *testing.T) {
	type local struct{ X int }
	e := NewEncoder(nil)
	e.Value([]any{local{1}})
	if err := e.Err(); err == nil || !strings.Contains(err.Error(), "RegisterValue") {
		t.Errorf("encoding an unregistered Go type: %v; want the RegisterValue advice", err)
	}
}

// TestUnregisteredPickleNameHintsPysync: a Go client that meets Python bytes in the
// unsized form of a peer built before tagNamedSized, without having imported pysync, is
// told to import it.
func TestUnregisteredPickleNameHintsPysync(t *testing.T) {
	if h := unregisteredNameHint(picklePkg + ".Bytes"); !strings.Contains(h, pysyncPkg) {
		t.Errorf("hint for pickle.Bytes: %q, want it to name %s", h, pysyncPkg)
	}
	if h := unregisteredNameHint("example.com/p.T"); !strings.Contains(h, "mgr.RegisterValue") {
		t.Errorf("hint for a Go type: %q, want mgr.RegisterValue", h)
	}
}
