package mgr_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// argPoint is registered so that it may travel inside an any.
type argPoint struct {
	X, Y int
	Tag  string
}

// argConfig is a plain struct argument, read back as itself (no registration needed:
// it is not inside an interface).
type argConfig struct {
	Name    string
	Limits  map[string]int64
	Extra   any
	Started time.Time
	Next    *argConfig
}

// argHidden has an unexported field, which the codec does not carry.
type argHidden struct {
	Public string
	secret string
}

func init() {
	mgr.RegisterValue[argPoint]()
	// typed-args compares every argument with typedArgs(), the same values the test
	// spawns it with, and reports the differences as its error.
	mgr.RegisterWorker("typed-args", func(ctx context.Context, w *mgr.WorkerEnv) error {
		want := typedArgs()
		var diffs []string
		check := func(i int, got any, err error) {
			if err != nil {
				diffs = append(diffs, err.Error())
				return
			}
			if d := cmp.Diff(want[i], got); d != "" {
				diffs = append(diffs, fmt.Sprintf("argument %d (-want +got):\n%s", i, d))
			}
		}
		a0, err := mgr.WorkerArg[[]any](w, 0)
		check(0, a0, err)
		a1, err := mgr.WorkerArg[map[string]any](w, 1)
		check(1, a1, err)
		a2, err := mgr.WorkerArg[any](w, 2) // a registered type, read through any
		check(2, a2, err)
		a3, err := mgr.WorkerArg[time.Time](w, 3)
		check(3, a3, err)
		a4, err := mgr.WorkerArg[*argConfig](w, 4)
		check(4, a4, err)
		a5, err := mgr.WorkerArg[any](w, 5) // nil
		check(5, a5, err)
		a6, err := mgr.WorkerArg[int64](w, 6) // an int read as an int64
		if err != nil || a6 != 7 {
			diffs = append(diffs, fmt.Sprintf("argument 6 as int64 = %d, %v", a6, err))
		}
		a7, err := mgr.WorkerArg[any](w, 6) // and through any, as what it was: an int
		if _, ok := a7.(int); err != nil || !ok {
			diffs = append(diffs, fmt.Sprintf("argument 6 as any = %T %v, %v", a7, a7, err))
		}
		// Asking for another type is an error naming both, not a reinterpretation.
		if _, err := mgr.WorkerArg[string](w, 6); err == nil || !strings.Contains(err.Error(), "argument 6 of worker \"typed-args\" is a int, not a string") {
			diffs = append(diffs, fmt.Sprintf("argument 6 as string: %v", err))
		}
		if _, err := mgr.WorkerArg[int8](w, 7); err == nil || !strings.Contains(err.Error(), "overflows int8") {
			diffs = append(diffs, fmt.Sprintf("argument 7 (1000) as int8: %v", err))
		}
		if _, err := mgr.WorkerArg[any](w, 4); err == nil || !strings.Contains(err.Error(), "mgr.RegisterValue") {
			diffs = append(diffs, fmt.Sprintf("unregistered argument 4 as any: %v", err))
		}
		if len(diffs) > 0 {
			return fmt.Errorf("%s", strings.Join(diffs, "\n"))
		}
		return nil
	})
}

func typedArgs() []any {
	at := time.Date(2024, 2, 29, 13, 14, 15, 16, time.FixedZone("", 2*3600))
	return []any{
		[]any{1, int64(2), 2.5, float32(1.5), uint8(9), "s", []byte("b"), nil, []any{int16(-3)}, argPoint{1, 2, "p"}},
		map[string]any{"int": 1, "int64": int64(1), "float64": 1.0, "nested": map[string]any{"u": uint(3)}, "when": at},
		argPoint{X: 3, Y: 4, Tag: "registered"},
		at,
		&argConfig{Name: "c", Limits: map[string]int64{"a": 1}, Extra: []any{int32(5)}, Started: at,
			Next: &argConfig{Name: "next"}},
		nil,
		7,
		1000,
	}
}

// TestWorkerArgumentTypes sends values whose types JSON would lose to a real worker
// process, which compares what it reads with the same values built there.
func TestWorkerArgumentTypes(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	p := spawn(t, m, "typed-args", typedArgs()...)
	if code, err := p.Wait(ctx); code != 0 || err != nil {
		t.Fatalf("exit %d:\n%v", code, err)
	}
}

// TestSpawnRefusesWhatTheCodecCannotCarry: Spawn fails, naming the argument and its
// type, rather than let a worker see a value that lost something on the way.
func TestSpawnRefusesWhatTheCodecCannotCarry(t *testing.T) {
	ctx := testCtx(t)
	m := startInProcess(t, mgr.Options{})
	counter, err := createCounter(ctx, m.Client(), 0)
	if err != nil {
		t.Fatal(err)
	}
	type cyclic struct{ Next *cyclic }
	loop := &cyclic{}
	loop.Next = loop
	type unregistered struct{ A int }
	for _, tc := range []struct {
		name string
		args []any
		want string
	}{
		{"unexported field", []any{1, argHidden{Public: "p", secret: "s"}},
			`spawn worker "block": argument 1 (mgr_test.argHidden): mgr_test.argHidden has unexported field secret, which the codec does not carry`},
		{"unexported field deep", []any{map[string]any{"k": []any{&argHidden{}}}},
			`argument 0 (map[string]interface {}): mgr_test.argHidden at [k][0] has unexported field secret`},
		{"func", []any{"x", func() {}},
			`argument 1 (func()): a func() cannot be sent to another process`},
		{"chan in a struct", []any{struct{ C chan int }{make(chan int)}},
			`a chan int at .C cannot be sent to another process`},
		{"proxy in a struct", []any{struct{ C *counterProxy }{counter}},
			`a proxy (*mgr_test.counterProxy) at .C cannot travel inside a plain value: pass it as an argument of its own`},
		{"proxy in an []any", []any{[]any{counter}},
			`at [0] cannot travel inside a plain value`},
		{"pointer cycle", []any{loop},
			`nested deeper than 64 levels at .Next.Next.Next`},
		{"unregistered type inside any", []any{[]any{unregistered{1}}},
			`register it with mgr.RegisterValue`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.Spawn(ctx, "block", tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Spawn = %v;\nwant an error containing %q", err, tc.want)
			}
		})
	}
}
