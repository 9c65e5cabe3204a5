package mgr

import (
	"context"
	"testing"
)

type localTestKey struct{}

// TestServerLocal: Local makes a value once per manager and key; ServerOf finds the
// manager only in a ctx that came from one.
func TestServerLocal(t *testing.T) {
	a, err := NewServer(Options{AuthKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewServer(Options{AuthKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	made := 0
	mk := func() any { made++; return new(int) }
	va, va2, vb := a.Local(localTestKey{}, mk), a.Local(localTestKey{}, mk), b.Local(localTestKey{}, mk)
	if va != va2 || va == vb || made != 2 {
		t.Fatalf("Local: %p %p %p, made %d times; want one value per manager", va, va2, vb, made)
	}
	if s := ServerOf(a.internal.ctx); s != a {
		t.Fatalf("ServerOf(a call's ctx) = %p, want %p", s, a)
	}
	if s := ServerOf(context.Background()); s != nil {
		t.Fatalf("ServerOf(Background) = %p, want nil", s)
	}
}
