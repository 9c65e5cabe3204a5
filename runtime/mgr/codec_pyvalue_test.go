package mgr

import (
	"strings"
	"testing"

	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
)

// TestPythonOnlyValueErrorSaysSo: a tuple or class instance a CPython client stored
// cannot be sent to a Go client, and the error says why instead of suggesting
// RegisterValue, which cannot help; other unregistered types keep that advice.
func TestPythonOnlyValueErrorSaysSo(t *testing.T) {
	for _, v := range []any{pickle.MustTuple(int64(1), int64(2)), &pickle.Dict{}} {
		e := NewEncoder(nil)
		e.Value([]any{v}) // inside an interface, as a Queue[any] item travels
		if err := e.Err(); err == nil || !strings.Contains(err.Error(), "only CPython clients can read it") || strings.Contains(err.Error(), "RegisterValue") {
			t.Errorf("encoding %T: %v; want an error saying only CPython clients can read it", v, err)
		}
	}
	type local struct{ X int }
	e := NewEncoder(nil)
	e.Value([]any{local{1}})
	if err := e.Err(); err == nil || !strings.Contains(err.Error(), "RegisterValue") {
		t.Errorf("encoding an unregistered Go type: %v; want the RegisterValue advice", err)
	}
}

// TestUnregisteredPickleNameHintsPysync: a Go client that meets Python bytes without
// having imported pysync is told to import it.
func TestUnregisteredPickleNameHintsPysync(t *testing.T) {
	if h := unregisteredNameHint(picklePkg + ".Bytes"); !strings.Contains(h, pysyncPkg) {
		t.Errorf("hint for pickle.Bytes: %q, want it to name %s", h, pysyncPkg)
	}
	if h := unregisteredNameHint("example.com/p.T"); !strings.Contains(h, "mgr.RegisterValue") {
		t.Errorf("hint for a Go type: %q, want mgr.RegisterValue", h)
	}
}
