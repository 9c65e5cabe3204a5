package gentest

import (
	"context"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mgr-go/mgr/internal/gentest/geo"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// startManager serves a manager in this process for the test and returns a client
// connected to it over a real socket.
func startManager(t *testing.T) (*mgr.Manager, *mgr.Client) {
	t.Helper()
	m, err := mgr.StartInProcess(mgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return m, m.Client()
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestCounter(t *testing.T) {
	ctx := context.Background()
	_, c := startManager(t)

	p := must[*CounterProxy](t)(CreateCounter(ctx, c, 5))
	if got := must[int](t)(p.Add(ctx, 3)); got != 8 {
		t.Errorf("Add(3) = %d, want 8", got)
	}
	// A sentinel error keeps its identity across the process boundary.
	if _, err := p.Add(ctx, 5000); !errors.Is(err, ErrTooBig) {
		t.Errorf("Add(5000) error = %v, want ErrTooBig", err)
	}

	// A method returning *Counter returns a proxy; one taking *Counter takes a proxy and
	// the method gets the referent.
	child := must[*CounterProxy](t)(p.Child(ctx, 10))
	if got := must[int](t)(child.Get(ctx)); got != 10 {
		t.Errorf("child.Get = %d, want 10", got)
	}
	if got := must[int](t)(p.Merge(ctx, child)); got != 18 {
		t.Errorf("Merge(child) = %d, want 18", got)
	}
	if _, err := p.Merge(ctx, nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("Merge(nil) error = %v, want ErrEmpty", err)
	}
	if none := must[*CounterProxy](t)(p.None(ctx)); none != nil {
		t.Errorf("None() = %v, want a nil proxy", none)
	}
	if err := child.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := child.Get(ctx); !errors.Is(err, mgr.ErrReleased) {
		t.Errorf("Get after Release: %v, want ErrReleased", err)
	}

	if err := p.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if got := must[int](t)(p.Get(ctx)); got != 0 {
		t.Errorf("Get after Reset = %d, want 0", got)
	}
}

func TestContextReachesMethod(t *testing.T) {
	ctx := context.Background()
	_, c := startManager(t)
	p := must[*CounterProxy](t)(CreateCounter(ctx, c, 0))

	if err := p.Wait(ctx, 0); err != nil {
		t.Errorf("Wait(0) = %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := p.Wait(short, time.Hour); err == nil {
		t.Error("Wait(1h) with a 50ms deadline returned nil")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Wait returned after %v: the deadline did not reach the method", d)
	}
	// The connection stays usable after the cancelled call.
	if _, err := p.Get(ctx); err != nil {
		t.Errorf("Get after a cancelled call: %v", err)
	}
}

// TestPairSeed is the seed scenario: Pair exposes only GetX.
func TestPairSeed(t *testing.T) {
	ctx := context.Background()
	_, c := startManager(t)

	if _, err := CreatePair(ctx, c, -1, 0); err == nil || err.Error() != "gentest: negative coordinate" {
		t.Errorf("CreatePair(-1, 0) error = %v, want the constructor's error", err)
	}
	p := must[*PairProxy](t)(CreatePair(ctx, c, 1, 2))
	if got := must[int](t)(p.GetX(ctx)); got != 1 {
		t.Errorf("GetX = %d, want 1", got)
	}
	// SetX, SetY and GetY are not on the proxy, so calling them does not compile.
	for _, name := range []string{"SetX", "SetY", "GetY"} {
		if _, ok := reflect.TypeFor[*PairProxy]().MethodByName(name); ok {
			t.Errorf("PairProxy has method %s; only GetX is exposed", name)
		}
	}
	// And the dispatch table has no entry for them: a raw call by index fails.
	for _, index := range []int{1, 5, -1} {
		_, err := p.Begin(index).Do(ctx)
		if !errors.Is(err, mgr.ErrUnknownMethod) {
			t.Errorf("raw call of method %d: %v, want ErrUnknownMethod", index, err)
		}
	}
	if got := must[int](t)(p.GetX(ctx)); got != 1 {
		t.Errorf("GetX after the raw calls = %d, want 1", got)
	}
}

func TestGenericBox(t *testing.T) {
	ctx := context.Background()
	_, c := startManager(t)

	b := must[*BoxProxy[int]](t)(CreateBox(ctx, c, 7))
	if got := must[int](t)(b.Swap(ctx, 8)); got != 7 {
		t.Errorf("Swap(8) = %d, want 7", got)
	}
	clone := must[*BoxProxy[int]](t)(b.Clone(ctx))
	if err := b.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx); !errors.Is(err, ErrEmpty) {
		t.Errorf("Get after Clear: %v, want ErrEmpty", err)
	}
	if got := must[int](t)(clone.Get(ctx)); got != 8 {
		t.Errorf("clone.Get = %d, want 8", got)
	}

	pt := geo.Point{X: 1, Y: 2, Label: "a"}
	bp := must[*BoxProxy[geo.Point]](t)(CreateBox(ctx, c, pt))
	if got := must[geo.Point](t)(bp.Get(ctx)); got != pt {
		t.Errorf("Box[geo.Point].Get = %v, want %v", got, pt)
	}

	// Instantiations are distinct types in the manager.
	if BoxTypeID[int]() == BoxTypeID[string]() {
		t.Errorf("BoxTypeID[int] = BoxTypeID[string] = %q", BoxTypeID[int]())
	}
	if got, want := BoxTypeID[geo.Point](), "github.com/mgr-go/mgr/internal/gentest.Box[github.com/mgr-go/mgr/internal/gentest/geo.Point]"; got != want {
		t.Errorf("BoxTypeID[geo.Point] = %q, want %q", got, want)
	}
	tok := must[mgr.Token](t)(b.Token(ctx))
	if _, err := AttachBox[string](ctx, c, tok); !errors.Is(err, mgr.ErrWrongType) {
		t.Errorf("AttachBox[string] of a Box[int] token: %v, want ErrWrongType", err)
	}
}

func TestRegistryOtherPackageStructs(t *testing.T) {
	ctx := context.Background()
	_, c := startManager(t)

	r := must[*RegistryProxy](t)(CreateRegistry(ctx, c))
	if got := must[*geo.Point](t)(r.Nearest(ctx, &geo.Point{})); got != nil {
		t.Errorf("Nearest on an empty registry = %v, want nil", got)
	}
	a := geo.Point{X: 1, Y: 1, Label: "a"}
	b := geo.Point{X: 5, Y: 5, Label: "b"}
	for name, p := range map[string]geo.Point{"a": a, "b": b} {
		if err := r.Put(ctx, name, p); err != nil {
			t.Fatal(err)
		}
	}
	got, ok, err := r.Get(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if got != b || !ok {
		t.Errorf("Get(b) = %v, %v, want %v, true", got, ok, b)
	}
	if _, ok, _ := r.Get(ctx, "nope"); ok {
		t.Error("Get(nope) found something")
	}
	all := must[map[string]geo.Point](t)(r.All(ctx))
	if diff := cmp.Diff(map[string]geo.Point{"a": a, "b": b}, all); diff != "" {
		t.Errorf("All (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a", "b"}, must[[]string](t)(r.Names(ctx))); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
	if got := must[*geo.Point](t)(r.Nearest(ctx, &geo.Point{X: 4, Y: 4})); got == nil || *got != b {
		t.Errorf("Nearest(4,4) = %v, want %v", got, b)
	}
}

func TestKitchenRoundTrips(t *testing.T) {
	ctx := context.Background()
	_, c := startManager(t)
	k := must[*KitchenProxy](t)(CreateKitchen(ctx, c))
	if KitchenTypeID != "gentest.Kitchen" {
		t.Errorf("KitchenTypeID = %q, want the typeid= option", KitchenTypeID)
	}

	type scalars struct {
		B    bool
		I    int
		I8   int8
		I16  int16
		I32  int32
		I64  int64
		U    uint
		U8   uint8
		U16  uint16
		U32  uint32
		U64  uint64
		UP   uintptr
		F32  float32
		F64  float64
		C64  complex64
		C128 complex128
	}
	in := scalars{true, -1 << 40, math.MinInt8, math.MinInt16, math.MinInt32, math.MinInt64,
		math.MaxUint, math.MaxUint8, math.MaxUint16, math.MaxUint32, math.MaxUint64, 1 << 20,
		1.5, math.Pi, complex(1, -2), complex(math.E, 3)}
	var out scalars
	var err error
	out.B, out.I, out.I8, out.I16, out.I32, out.I64, out.U, out.U8, out.U16, out.U32, out.U64, out.UP,
		out.F32, out.F64, out.C64, out.C128, err = k.Scalars(ctx, in.B, in.I, in.I8, in.I16, in.I32, in.I64,
		in.U, in.U8, in.U16, in.U32, in.U64, in.UP, in.F32, in.F64, in.C64, in.C128)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("Scalars (-sent +got):\n%s", diff)
	}

	when := time.Date(2024, 2, 29, 12, 0, 0, 5, time.FixedZone("X", 3600))
	s, bs, tm, d, e, cel, id, blob, err := k.Named(ctx, "héllo", []byte{0, 1}, when, time.Minute, ErrTooBig, 21.5, "id-1", Blob("x"))
	if err != nil {
		t.Fatal(err)
	}
	if s != "héllo" || string(bs) != "\x00\x01" || !tm.Equal(when) || d != time.Minute || cel != 21.5 || id != "id-1" || string(blob) != "x" {
		t.Errorf("Named returned %q %q %v %v %v %q %q", s, bs, tm, d, cel, id, blob)
	}
	if !errors.Is(e, ErrTooBig) {
		t.Errorf("an error value came back as %v, want ErrTooBig", e)
	}
	_, _, _, _, e, _, _, _, err = k.Named(ctx, "", nil, time.Time{}, 0, nil, 0, "", nil)
	if err != nil || e != nil {
		t.Errorf("Named with a nil error value: %v, %v", e, err)
	}

	seven := 7
	xs, m, arr, p, v, err := k.Composite(ctx, []int{1, 2}, map[string][]float64{"a": {1.5}}, [3]string{"x", "y", "z"}, &seven, "any")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{[]int{1, 2}, map[string][]float64{"a": {1.5}}, [3]string{"x", "y", "z"}, 7, "any"},
		[]any{xs, m, arr, *p, v}); diff != "" {
		t.Errorf("Composite (-sent +got):\n%s", diff)
	}

	// A call that fails before it reaches the manager returns its error in the last
	// position, whatever the number of results.
	gone := must[*KitchenProxy](t)(CreateKitchen(ctx, c))
	if err := gone.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, _, _, _, _, _, _, err := gone.Named(ctx, "", nil, time.Time{}, 0, nil, 0, "", nil); !errors.Is(err, mgr.ErrReleased) {
		t.Errorf("Named on a released proxy: %v, want ErrReleased", err)
	}
	if _, _, _, _, _, err := gone.Composite(ctx, nil, nil, [3]string{}, nil, nil); !errors.Is(err, mgr.ErrReleased) {
		t.Errorf("Composite on a released proxy: %v, want ErrReleased", err)
	}

	if got := must[int](t)(k.Sum(ctx, 1, 2, 3, 4)); got != 10 {
		t.Errorf("Sum(1, 2, 3, 4) = %d, want 10", got)
	}
	if got := must[int](t)(k.Sum(ctx, 1)); got != 1 {
		t.Errorf("Sum(1) = %d, want 1", got)
	}
}

func TestAttachAndLookup(t *testing.T) {
	ctx := context.Background()
	m, c := startManager(t)

	if err := m.Server().AddNamed("shared", CounterTypeID, NewCounter(42)); err != nil {
		t.Fatal(err)
	}
	shared := must[*CounterProxy](t)(LookupCounter(ctx, c, "shared"))
	if got := must[int](t)(shared.Get(ctx)); got != 42 {
		t.Errorf("shared.Get = %d, want 42", got)
	}
	if _, err := LookupPair(ctx, c, "shared"); !errors.Is(err, mgr.ErrWrongType) {
		t.Errorf("LookupPair of a Counter: %v, want ErrWrongType", err)
	}

	// A second session stands in for another process.
	other, err := mgr.Connect(ctx, m.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tok := must[mgr.Token](t)(shared.Token(ctx))
	if err := shared.Close(ctx); err != nil {
		t.Fatal(err)
	}
	attached := must[*CounterProxy](t)(AttachCounter(ctx, other, tok))
	if got := must[int](t)(attached.Add(ctx, 1)); got != 43 {
		t.Errorf("attached.Add(1) = %d, want 43", got)
	}
}
