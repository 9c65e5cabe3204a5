package mgr

import (
	"encoding/hex"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mgr-go/mgr/internal/pythons"
	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
)

// slowPyRequest is decodePyRequest without the fast path.
func slowPyRequest(t *testing.T, frame []byte) pyRequest {
	t.Helper()
	v, err := pickle.Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	elems, err := v.(pickle.Tuple).Elems()
	if err != nil {
		t.Fatal(err)
	}
	var req pyRequest
	req.ident, _ = elems[0].(string)
	req.method = elems[1].(string)
	if req.args, err = elems[2].(pickle.Tuple).Elems(); err != nil {
		t.Fatal(err)
	}
	if len(req.args) == 0 {
		req.args = nil
	}
	if d := elems[3].(*pickle.Dict); d.Len() > 0 {
		req.kwds = d
	}
	return req
}

// TestFastPyRequest checks the fast path against the general decoder on requests real
// CPython pickled, and that it is taken where it should be.
func TestFastPyRequest(t *testing.T) {
	for _, py := range pythons.ForTest(t) {
		out, err := py.Command(filepath.Join("testdata", "py_requests.py")).Output()
		if err != nil {
			t.Fatalf("%s: %v", py.Version, err)
		}
		var names pyLastNames // one connection's, carried from request to request
		for i, line := range strings.Fields(string(out)) {
			frame, err := hex.DecodeString(line)
			if err != nil {
				t.Fatal(err)
			}
			want := slowPyRequest(t, frame)
			got, fast := fastPyRequest(frame, nil)
			if again, _ := fastPyRequest(frame, &names); !reflect.DeepEqual(again, got) {
				t.Errorf("%s request %d: with the last names kept %#v, without %#v", py.Version, i, again, got)
			}
			if wantFast := want.kwds == nil; fast != wantFast {
				t.Errorf("%s request %d (%s): fast path taken %v, want %v", py.Version, i, want.method, fast, wantFast)
			}
			if !fast {
				continue
			}
			if len(got.args) == 0 {
				got.args = nil
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s request %d: fast %#v, general %#v", py.Version, i, got, want)
			}
		}
	}
}
