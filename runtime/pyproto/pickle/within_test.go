package pickle

import (
	"errors"
	"testing"
)

// TestDecodeWithinSharesTheAllowance: decodes given one allowance take what they build
// from it, so the second of two expanding pickles is refused where each alone fits.
func TestDecodeWithinSharesTheAllowance(t *testing.T) {
	p, err := Encode(MustTuple(MustTuple("a long enough string, repeated", "a long enough string, repeated"), int64(1)))
	if err != nil {
		t.Fatal(err)
	}
	all := 1 << 20
	if _, err := (Options{}).DecodeWithin(p, &all); err != nil {
		t.Fatal(err)
	}
	built := 1<<20 - all // what one decode builds
	if built <= 0 {
		t.Fatalf("a decode of shared tuples built %d bytes", built)
	}
	left := built + built/2
	if _, err := (Options{}).DecodeWithin(p, &left); err != nil || left != built/2 {
		t.Fatalf("first decode: %v, left %d of %d", err, left, built+built/2)
	}
	if _, err := (Options{}).DecodeWithin(p, &left); !errors.Is(err, ErrLimit) {
		t.Fatalf("second decode with %d bytes left: %v, want ErrLimit", left, err)
	}
	zero := 0
	if v, err := (Options{}).DecodeWithin([]byte("\x80\x04K\x07."), &zero); err != nil || v != int64(7) {
		t.Fatalf("a pickle that builds nothing, with nothing left: %v, %v", v, err)
	}
}
