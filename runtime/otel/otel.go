// Package mgrotel traces and measures mgr calls with OpenTelemetry, through the
// runtime's interceptors (mgr.Interceptor).
//
// It lives in a module of its own (github.com/mgr-go/mgr/runtime/otel) so that the core
// runtime, which only uses the standard library, never pulls in OpenTelemetry: programs
// that do not trace pay nothing, not even in their go.sum.
//
// Traces: ClientInterceptor starts a client span per call ("syncmgr.Queue/Put") and
// carries its context to the manager in the call's frame (mgr.CallInfo.Meta, as W3C
// trace context); ServerInterceptor starts the manager's span as its child, and hands
// the method a ctx holding it. Metrics: calls and their durations per type, method and
// side (mgr.calls, mgr.call.duration), and, with ObserveServer, the manager's sessions,
// objects, references, waiters and queue depths as gauges read from Server.Info.
//
//	c, err := mgr.Connect(ctx, mgr.Options{..., ClientInterceptors: []mgr.Interceptor{mgrotel.ClientInterceptor(mgrotel.Config{})}})
//
// A child-process manager (mgr.Start) gets its interceptor from an initializer, since
// funcs cannot cross to it:
//
//	mgr.RegisterInitializer("otel", func(s *mgr.Server) error {
//		s.Intercept(mgrotel.ServerInterceptor(mgrotel.Config{TracerProvider: tp, MeterProvider: mp}))
//		_, err := mgrotel.ObserveServer(s, mgrotel.Config{MeterProvider: mp})
//		return err
//	})
package mgrotel

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the spans and metrics.
const ScopeName = "github.com/mgr-go/mgr/runtime/otel"

// Attribute keys.
const (
	AttrTypeID  = attribute.Key("mgr.typeid")
	AttrMethod  = attribute.Key("mgr.method")
	AttrObject  = attribute.Key("mgr.object")
	AttrSession = attribute.Key("mgr.session")
	AttrSide    = attribute.Key("mgr.side") // "client" or "manager"
)

// Config says where spans and metrics go. Zero fields mean the global providers
// (otel.GetTracerProvider, otel.GetMeterProvider) and W3C trace context.
type Config struct {
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	Propagator     propagation.TextMapPropagator
}

func (c Config) tracer() trace.Tracer {
	tp := c.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return tp.Tracer(ScopeName)
}

func (c Config) meter() metric.Meter {
	mp := c.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	return mp.Meter(ScopeName)
}

func (c Config) propagator() propagation.TextMapPropagator {
	if c.Propagator != nil {
		return c.Propagator
	}
	return propagation.TraceContext{}
}

// instruments are the call metrics of one side.
type instruments struct {
	calls    metric.Int64Counter
	duration metric.Float64Histogram
	side     attribute.KeyValue
	// sets caches the attribute set of each type, method and outcome: building one is
	// most of what recording costs.
	sets *sync.Map // setKey → metric.MeasurementOption
}

type setKey struct {
	typeID, method string
	failed         bool
}

func newInstruments(m metric.Meter, side string) instruments {
	// Errors from the API only say an instrument was misconfigured; the no-op one it
	// returns then is the right fallback for instrumentation.
	calls, _ := m.Int64Counter("mgr.calls", metric.WithDescription("Method calls, by type, method, side and outcome."), metric.WithUnit("{call}"))
	duration, _ := m.Float64Histogram("mgr.call.duration", metric.WithDescription("Duration of method calls, on the client: round trip; on the manager: running the method."), metric.WithUnit("s"))
	return instruments{calls: calls, duration: duration, side: AttrSide.String(side), sets: new(sync.Map)}
}

func (in instruments) record(ctx context.Context, info *mgr.CallInfo, d time.Duration, err error) {
	k := setKey{info.TypeID, info.Method, err != nil}
	v, ok := in.sets.Load(k)
	if !ok {
		v, _ = in.sets.LoadOrStore(k, metric.WithAttributeSet(attribute.NewSet(
			AttrTypeID.String(info.TypeID), AttrMethod.String(info.Method), in.side, attribute.Bool("error", err != nil))))
	}
	attrs := v.(metric.MeasurementOption)
	in.calls.Add(ctx, 1, attrs)
	in.duration.Record(ctx, d.Seconds(), attrs)
}

// spanName is "type/method", the generic type's arguments left out so that names stay
// few ("syncmgr.Queue/Put" for every Queue[T]).
func spanName(info *mgr.CallInfo) string {
	t := info.TypeID
	if i := strings.IndexByte(t, '['); i >= 0 {
		t = t[:i]
	}
	return t + "/" + info.Method
}

func spanAttrs(info *mgr.CallInfo) trace.SpanStartOption {
	return trace.WithAttributes(AttrTypeID.String(info.TypeID), AttrMethod.String(info.Method),
		AttrObject.Int64(int64(info.Object)), AttrSession.Int64(int64(info.Session)))
}

func end(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// ClientInterceptor traces and measures the calls of a client: a client span per call,
// its context sent to the manager in the call's metadata.
func ClientInterceptor(cfg Config) mgr.Interceptor {
	tr, prop, in := cfg.tracer(), cfg.propagator(), newInstruments(cfg.meter(), "client")
	return func(ctx context.Context, info *mgr.CallInfo, invoke func(context.Context) error) error {
		ctx, span := tr.Start(ctx, spanName(info), trace.WithSpanKind(trace.SpanKindClient), spanAttrs(info))
		carrier := metaCarrier{}
		prop.Inject(ctx, carrier)
		info.Meta = carrier.encode()
		start := time.Now()
		err := invoke(ctx)
		in.record(ctx, info, time.Since(start), err)
		end(span, err)
		return err
	}
}

// ServerInterceptor traces and measures the calls a manager runs: a server span per
// call, the child of the caller's span when the call carries its context.
func ServerInterceptor(cfg Config) mgr.Interceptor {
	tr, prop, in := cfg.tracer(), cfg.propagator(), newInstruments(cfg.meter(), "manager")
	return func(ctx context.Context, info *mgr.CallInfo, invoke func(context.Context) error) error {
		if len(info.Meta) > 0 {
			ctx = prop.Extract(ctx, decodeMeta(info.Meta))
		}
		ctx, span := tr.Start(ctx, spanName(info), trace.WithSpanKind(trace.SpanKindServer), spanAttrs(info))
		start := time.Now()
		err := invoke(ctx)
		in.record(ctx, info, time.Since(start), err)
		end(span, err)
		return err
	}
}

// metaCarrier is a propagation.TextMapCarrier written to a call's metadata as
// "key: value" lines.
type metaCarrier map[string]string

func (c metaCarrier) Get(key string) string { return c[key] }
func (c metaCarrier) Set(key, value string) { c[key] = value }
func (c metaCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

func (c metaCarrier) encode() []byte {
	if len(c) == 0 {
		return nil
	}
	var b bytes.Buffer
	for k, v := range c {
		if strings.ContainsAny(k, ":\n") || strings.Contains(v, "\n") {
			continue // cannot be said in this format; no propagator makes such
		}
		b.WriteString(k)
		b.WriteString(": ")
		b.WriteString(v)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// decodeMeta reads what encode wrote; lines it cannot read are skipped (the metadata
// comes from a client, authenticated but not trusted to be well-formed).
func decodeMeta(meta []byte) metaCarrier {
	c := metaCarrier{}
	for line := range strings.SplitSeq(string(meta), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok && k != "" {
			c[strings.ToLower(k)] = v
		}
	}
	return c
}
