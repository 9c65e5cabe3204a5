package mgr_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mgr-go/mgr/runtime/mgr"
)

type inner struct {
	Name  string
	Tags  []string
	Score float64
}

type outer struct {
	ID      int64
	Small   int8
	U       uint16
	Flag    bool
	Blob    []byte
	NilBlob []byte
	When    time.Time
	Wait    time.Duration
	Inner   inner
	Ptr     *inner
	NilPtr  *inner
	List    []inner
	Map     map[string]int
	Any     any
	Anys    []any
	Arr     [3]int
	Err     error
	hidden  int // unexported fields do not travel
}

func roundTrip[T any](t *testing.T, in T) T {
	t.Helper()
	e := mgr.NewEncoder(nil)
	e.Value(&in)
	if err := e.Err(); err != nil {
		t.Fatalf("encode %T: %v", in, err)
	}
	var out T
	d := mgr.NewDecoder(e.Bytes())
	d.Value(&out)
	if err := d.Done(); err != nil {
		t.Fatalf("decode %T: %v", in, err)
	}
	return out
}

func TestBinaryCodecRoundTrip(t *testing.T) {
	when := time.Date(2026, 11, 21, 10, 0, 0, 123, time.FixedZone("X", 3600))
	in := outer{
		ID: math.MinInt64, Small: -128, U: 65535, Flag: true, Blob: []byte{}, When: when, Wait: time.Second,
		Inner: inner{"a", []string{"x", "y"}, 1.5}, Ptr: &inner{Name: "p"},
		List: []inner{{Name: "l"}}, Map: map[string]int{"k": 1}, Any: "s",
		Anys: []any{nil, true, 1, int8(2), uint64(3), 4.5, "x", []byte("b"), when, []any{"n"}, map[string]any{"m": 1}},
		Arr:  [3]int{1, 2, 3}, hidden: 9,
	}
	out := roundTrip(t, in)
	in.hidden = 0
	if diff := cmp.Diff(in, out, cmp.AllowUnexported(outer{}), cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Fatalf("round trip (-in +out):\n%s", diff)
	}
	if out.Blob == nil || out.NilBlob != nil {
		t.Fatalf("nil and empty byte slices must stay apart: %v %v", out.Blob, out.NilBlob)
	}
}

func TestErrorValuesKeepSentinels(t *testing.T) {
	for _, sentinel := range []error{errTooBig, io.EOF, os.ErrNotExist, context.Canceled} {
		wrapped := fmt.Errorf("while reading: %w", sentinel)
		out := roundTrip(t, outer{Err: wrapped})
		if !errors.Is(out.Err, sentinel) || out.Err.Error() != wrapped.Error() {
			t.Fatalf("error value = %v, want one that wraps %v", out.Err, sentinel)
		}
	}
}

// unregistered is never registered; registeredHere is registered by the test below. The
// registry is process-wide and has no undo, so one type cannot be both in a test that
// must pass on every run (-count).
type (
	unregistered   struct{ A int }
	registeredHere struct{ A int }
)

func TestUnregisteredInterfaceValueIsAClearError(t *testing.T) {
	e := mgr.NewEncoder(nil)
	v := any(unregistered{1})
	e.Value(&v)
	if err := e.Err(); err == nil || !strings.Contains(err.Error(), "mgr.RegisterValue") {
		t.Fatalf("encode of an unregistered type in an interface: %v", err)
	}
	mgr.RegisterValue[registeredHere]() // registering again (a later run) is harmless
	out := roundTrip(t, any(registeredHere{7}))
	if out != (registeredHere{7}) {
		t.Fatalf("registered value = %#v", out)
	}
}

func TestDecoderRejectsHostileInput(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		into func(d *mgr.Decoder)
		want string
	}{
		{"huge string length", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, func(d *mgr.Decoder) { _ = d.String() }, "exceeds"},
		{"huge slice count", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, func(d *mgr.Decoder) { var s []int64; d.Value(&s) }, "exceeds"},
		{"huge map count", []byte{0xff, 0xff, 0x03}, func(d *mgr.Decoder) { var m map[string]string; d.Value(&m) }, "exceeds"},
		{"bad bool", []byte{7}, func(d *mgr.Decoder) { d.Bool() }, "invalid byte"},
		{"overflowing int8", []byte{0x80, 0x04}, func(d *mgr.Decoder) { var v int8; d.Value(&v) }, "overflows int8"},
		{"truncated float", []byte{1, 2}, func(d *mgr.Decoder) { d.Float64() }, "exceeds"},
		{"unknown tag", []byte{200}, func(d *mgr.Decoder) { var v any; d.Value(&v) }, "unknown type tag"},
		{"struct field mismatch", []byte{5}, func(d *mgr.Decoder) { var v inner; d.Value(&v) }, "exported fields"},
		{"trailing bytes", []byte{2, 0}, func(d *mgr.Decoder) { d.Int64() }, "trailing"},
		{"deep nesting", deepAny(200), func(d *mgr.Decoder) { var v any; d.Value(&v) }, "nested deeper"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := mgr.NewDecoder(tc.data)
			tc.into(d)
			err := d.Done()
			if !errors.Is(err, mgr.ErrDecode) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an ErrDecode containing %q", err, tc.want)
			}
		})
	}
}

// deepAny encodes n nested []any, each holding the next.
func deepAny(n int) []byte {
	var b []byte
	for range n {
		b = append(b, 17, 2) // tagSlice, one element
	}
	return append(b, 0)
}
