package mgr

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"

	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
)

// FuzzPyRequest feeds the CPython front-end's request decoding arbitrary frames: it never
// panics, and whenever the fast path takes a frame it reads what the general decoder
// reads.
func FuzzPyRequest(f *testing.F) {
	for _, seed := range []string{ // requests CPython 3.12 pickled (testdata/py_requests.py)
		"8004951300000000000000288c03312e32948c0367657494297d9474942e",
		"8004951800000000000000284e8c06696e63726566948c03312e329485947d9474942e",
		"8004951600000000000000288c03312e32948c0367657494680185947d9474942e",
		"8004953b00000000000000288c03312e32948c0b5f5f7365746974656d5f5f944b014b0286945d94284b018c017894430179944740040000000000004e886586947d9474942e",
		"8004952300000000000000288c03312e32948c03707574947d948c016b944b014b02869473884e87947d9474942e",
	} {
		b, err := hex.DecodeString(seed)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		fast, ok := fastPyRequest(frame, nil)
		general, err := decodePyRequestGeneral(frame)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("the fast path read %#v from a frame the general decoder refuses (%v)", fast, err)
		}
		if len(fast.args) == 0 {
			fast.args = nil
		}
		if len(general.args) == 0 {
			general.args = nil
		}
		if !reflect.DeepEqual(fast, general) && !samePickled(fast, general) {
			t.Fatalf("fast path %#v, general decoder %#v", fast, general)
		}
	})
}

// samePickled reports whether a and b pickle to the same bytes: the same request, though
// reflect.DeepEqual says otherwise when an argument holds a NaN (never equal to itself).
func samePickled(a, b pyRequest) bool {
	if a.ident != b.ident || a.method != b.method {
		return false
	}
	aa, errA := pickle.Encode(a.args)
	ba, errB := pickle.Encode(b.args)
	if errA != nil || errB != nil || !bytes.Equal(aa, ba) {
		return false
	}
	if (a.kwds == nil) != (b.kwds == nil) {
		return false
	}
	if a.kwds == nil {
		return true
	}
	ak, errA := pickle.Encode(a.kwds)
	bk, errB := pickle.Encode(b.kwds)
	return errA == nil && errB == nil && bytes.Equal(ak, bk)
}
