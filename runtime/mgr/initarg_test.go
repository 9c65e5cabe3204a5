package mgr_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// initSeed is the argument of the "test-init-arg" initializer.
type initSeed struct {
	Names []string
	Start int64
	Extra map[string]any
}

func wantSeed() initSeed {
	return initSeed{Names: []string{"a", "b"}, Start: 40,
		Extra: map[string]any{"int": 1, "int64": int64(2), "point": argPoint{1, 2, "p"}}}
}

func init() {
	// test-init-arg checks that its argument arrived intact (the manager may be another
	// process) and adds a counter starting at Start under each of Names.
	mgr.RegisterInitializerOf("test-init-arg", func(s *mgr.Server, seed initSeed) error {
		if d := cmp.Diff(wantSeed(), seed); d != "" {
			return fmt.Errorf("argument (-want +got):\n%s", d)
		}
		for _, name := range seed.Names {
			if err := s.AddNamed(name, counterTypeID, &counter{n: seed.Start, started: make(chan struct{})}); err != nil {
				return err
			}
		}
		return nil
	})
}

// TestInitializerArgument starts a manager in a child process and in process with an
// initializer that takes an argument, and checks the objects it made from it.
func TestInitializerArgument(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(context.Context, mgr.Options) (*mgr.Manager, error)
	}{
		{"child process", mgr.Start},
		{"in process", func(_ context.Context, o mgr.Options) (*mgr.Manager, error) { return mgr.StartInProcess(o) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			m, err := tc.start(ctx, mgr.Options{Initializer: "test-init-arg", InitArg: wantSeed()})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Shutdown(context.Background())
			for _, name := range wantSeed().Names {
				h, err := m.Client().Lookup(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				p := &counterProxy{mgr.MakeProxyBase(h)}
				if got, err := p.Get(ctx); err != nil || got != 40 {
					t.Fatalf("counter %q = %d, %v; want 40 from the initializer's argument", name, got, err)
				}
			}
		})
	}
}

// TestInitializerArgumentErrors: a missing, mistyped or unwanted argument is an error
// that says what the initializer takes, in either kind of manager.
func TestInitializerArgumentErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts mgr.Options
		want string
	}{
		{"missing", mgr.Options{Initializer: "test-init-arg"},
			`initializer "test-init-arg" takes a mgr_test.initSeed; set Options.InitArg`},
		{"wrong type", mgr.Options{Initializer: "test-init-arg", InitArg: &initSeed{}},
			`Options.InitArg of initializer "test-init-arg" is a *mgr_test.initSeed, not a mgr_test.initSeed`},
		{"argument to an initializer without one", mgr.Options{Initializer: "test-named-counter", InitArg: 3},
			`initializer "test-named-counter" takes no argument (it was registered with RegisterInitializer), but Options.InitArg is a int; register it with RegisterInitializerOf`},
		{"unexported field", mgr.Options{Initializer: "test-init-arg", InitArg: argHidden{}},
			`Options.InitArg (mgr_test.argHidden): mgr_test.argHidden has unexported field secret`},
		{"no initializer", mgr.Options{InitArg: 1},
			`Options.InitArg is set but Options.Initializer is not`},
		{"unregistered", mgr.Options{Initializer: "no-such-initializer"},
			`no initializer registered as "no-such-initializer"; call mgr.RegisterInitializer or mgr.RegisterInitializerOf from an init function`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			if m, err := mgr.StartInProcess(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
				if err == nil {
					m.Shutdown(ctx)
				}
				t.Errorf("StartInProcess = %v;\nwant an error containing %q", err, tc.want)
			}
			if m, err := mgr.Start(ctx, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
				if err == nil {
					m.Shutdown(ctx)
				}
				t.Errorf("Start = %v;\nwant an error containing %q", err, tc.want)
			}
		})
	}
}
