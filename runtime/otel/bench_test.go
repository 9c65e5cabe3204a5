package mgrotel_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/mgr-go/mgr/runtime/mgr"
	mgrotel "github.com/mgr-go/mgr/runtime/otel"
	"github.com/mgr-go/mgr/runtime/syncmgr"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Cross-process calls (a child-process manager) with no interceptor, with one that does
// nothing on each side, and with OpenTelemetry on both (every span sampled and recorded
// by the SDK, metrics aggregated; nothing exported): seq is one goroutine calling,
// par64 is 64 goroutines sharing the client.
//
//	cd runtime/otel && go test -run '^$' -bench . -benchtime 2s -count 3

func noop(ctx context.Context, _ *mgr.CallInfo, invoke func(context.Context) error) error {
	return invoke(ctx)
}

// sdkConfig is OpenTelemetry as a traced program would have it, minus the exporter.
func sdkConfig() mgrotel.Config {
	return mgrotel.Config{
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample())),
		MeterProvider:  sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())),
	}
}

func init() {
	mgr.RegisterInitializer("mgrotel-bench-noop", func(s *mgr.Server) error {
		s.Intercept(noop)
		return nil
	})
	mgr.RegisterInitializer("mgrotel-bench-otel", func(s *mgr.Server) error {
		s.Intercept(mgrotel.ServerInterceptor(sdkConfig()))
		return nil
	})
}

func BenchmarkCall(b *testing.B) {
	modes := []struct {
		name   string
		init   string
		client func() []mgr.Interceptor
	}{
		{"none", "", func() []mgr.Interceptor { return nil }},
		{"noop", "mgrotel-bench-noop", func() []mgr.Interceptor { return []mgr.Interceptor{noop} }},
		{"otel", "mgrotel-bench-otel", func() []mgr.Interceptor { return []mgr.Interceptor{mgrotel.ClientInterceptor(sdkConfig())} }},
	}
	for _, mode := range modes {
		ctx := context.Background()
		m, err := syncmgr.Start(ctx, mgr.Options{Initializer: mode.init, ClientInterceptors: mode.client()})
		if err != nil {
			b.Fatal(err)
		}
		ev, err := syncmgr.CreateEvent(ctx, m.Client())
		if err != nil {
			b.Fatal(err)
		}
		b.Run("seq/"+mode.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := ev.IsSet(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("par64/"+mode.name, func(b *testing.B) {
			b.SetParallelism(64 / max(1, testingProcs()))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := ev.IsSet(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		m.Shutdown(ctx)
	}
}

// testingProcs is GOMAXPROCS: RunParallel starts parallelism × GOMAXPROCS goroutines.
func testingProcs() int { return runtime.GOMAXPROCS(0) }
