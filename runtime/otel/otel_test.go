package mgrotel_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	mgrotel "github.com/mgr-go/mgr/runtime/otel"
	"github.com/mgr-go/mgr/runtime/syncmgr"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// The tests run a manager in the test process and a client in another process (this
// test binary with roleEnv set), each with the SDK's in-memory exporters; the client
// process reports its spans on stdout.

const roleEnv = "MGROTEL_TEST_ROLE"

func TestMain(m *testing.M) {
	mgr.RunChild()
	switch os.Getenv(roleEnv) {
	case "":
		os.Exit(m.Run())
	case "client":
		os.Exit(runClient())
	default:
		fmt.Fprintf(os.Stderr, "unknown role %q\n", os.Getenv(roleEnv))
		os.Exit(2)
	}
}

func init() {
	syncmgr.RegisterQueue[int]()
	mgr.RegisterInitializer("mgrotel-test-queues", func(s *mgr.Server) error {
		if err := s.AddNamed("jobs", syncmgr.QueueTypeID[int](), syncmgr.NewQueue[int](0)); err != nil {
			return err
		}
		return s.AddNamed("empty", syncmgr.QueueTypeID[int](), syncmgr.NewQueue[int](0))
	})
}

// spanReport is a span as the client process reports it.
type spanReport struct {
	Name, Trace, Span, Parent string
}

// clientReport is what the client process prints once its calls are done.
type clientReport struct {
	Work        spanReport
	Spans       []spanReport
	ClientCalls int64 // mgr.calls for side=client, from the client's own reader
	Err         string
}

// runClient: under a span "work", put 1 and 2 into "jobs" and ask its size, print the
// ended spans, then block in a Get of "empty" until stdin closes.
func runClient() int {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	report := func(r clientReport) int {
		b, _ := json.Marshal(r)
		fmt.Println(string(b))
		if r.Err != "" {
			return 1
		}
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	opts, err := mgr.OptionsFromEnv()
	if err != nil {
		return report(clientReport{Err: err.Error()})
	}
	opts.ClientInterceptors = []mgr.Interceptor{mgrotel.ClientInterceptor(mgrotel.Config{TracerProvider: tp, MeterProvider: mp})}
	c, err := mgr.Connect(ctx, opts)
	if err != nil {
		return report(clientReport{Err: err.Error()})
	}
	defer c.Close()
	wctx, work := tp.Tracer("test").Start(ctx, "work")
	err = func() error {
		q, err := syncmgr.LookupQueue[int](wctx, c, "jobs")
		if err != nil {
			return err
		}
		if err := q.Put(wctx, 1); err != nil {
			return err
		}
		if err := q.Put(wctx, 2); err != nil {
			return err
		}
		_, err = q.Qsize(wctx)
		return err
	}()
	work.End()
	if err != nil {
		return report(clientReport{Err: err.Error()})
	}
	r := clientReport{Work: spanOf(work.(sdktrace.ReadOnlySpan))}
	for _, s := range rec.Ended() {
		r.Spans = append(r.Spans, spanOf(s))
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		return report(clientReport{Err: err.Error()})
	}
	r.ClientCalls = sumCounter(rm, "mgr.calls", attribute.String("mgr.side", "client"))

	empty, err := syncmgr.LookupQueue[int](ctx, c, "empty")
	if err != nil {
		return report(clientReport{Err: err.Error()})
	}
	gctx, stop := context.WithCancel(ctx)
	go func() {
		io.Copy(io.Discard, os.Stdin) // the test closes it: done
		stop()
	}()
	report(r)
	empty.Get(gctx) // blocks: a waiter for the manager's gauges
	return 0
}

func spanOf(s sdktrace.ReadOnlySpan) spanReport {
	return spanReport{Name: s.Name(), Trace: s.SpanContext().TraceID().String(), Span: s.SpanContext().SpanID().String(), Parent: s.Parent().SpanID().String()}
}

// sumCounter sums the Int64 sum metric name's points that have attr.
func sumCounter(rm metricdata.ResourceMetrics, name string, attr attribute.KeyValue) int64 {
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, p := range sum.DataPoints {
					if v, ok := p.Attributes.Value(attr.Key); ok && v == attr.Value {
						n += p.Value
					}
				}
			}
		}
	}
	return n
}

// gauge returns the value of the Int64 gauge name's point with attrs (all of them).
func gauge(rm metricdata.ResourceMetrics, name string, attrs ...attribute.KeyValue) (int64, bool) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			g, ok := m.Data.(metricdata.Gauge[int64])
			if m.Name != name || !ok {
				continue
			}
		points:
			for _, p := range g.DataPoints {
				for _, a := range attrs {
					if v, ok := p.Attributes.Value(a.Key); !ok || v != a.Value {
						continue points
					}
				}
				return p.Value, true
			}
		}
	}
	return 0, false
}

// TestSpansAndMetricsAcrossProcesses: a client in another process traces its calls; the
// manager's spans are children of the client's call spans in the same trace, and the
// manager's metrics count the calls and show sessions, objects, queue depth and a
// blocked getter.
func TestSpansAndMetricsAcrossProcesses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	cfg := mgrotel.Config{TracerProvider: tp, MeterProvider: mp}
	m, err := mgr.StartInProcess(mgr.Options{Initializer: "mgrotel-test-queues", ServerInterceptors: []mgr.Interceptor{mgrotel.ServerInterceptor(cfg)}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	reg, err := mgrotel.ObserveServer(m.Server(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()

	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), roleEnv+"=client"), m.Env()...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("client process: %v", err)
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("client process said nothing: %v", err)
	}
	var cr clientReport
	if err := json.Unmarshal([]byte(line), &cr); err != nil || cr.Err != "" {
		t.Fatalf("client process: %q: %v", line, err)
	}

	// The client's call spans are children of its work span; the manager's are children
	// of those, in the same trace.
	clientCalls := map[string]spanReport{}
	for _, s := range cr.Spans {
		if s.Name == "syncmgr.Queue/Put" || s.Name == "syncmgr.Queue/Qsize" {
			if s.Trace != cr.Work.Trace || s.Parent != cr.Work.Span {
				t.Errorf("client span %+v is not a child of work %+v", s, cr.Work)
			}
			clientCalls[s.Span] = s
		}
	}
	if len(clientCalls) != 3 {
		t.Fatalf("client spans %+v: want 2 Puts and a Qsize", cr.Spans)
	}
	var server []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.SpanKind() == trace.SpanKindServer && s.SpanContext().TraceID().String() == cr.Work.Trace {
			server = append(server, s)
		}
	}
	if len(server) != 3 {
		t.Fatalf("%d manager spans in the client's trace, want 3 (all: %d)", len(server), len(rec.Ended()))
	}
	for _, s := range server {
		parent, ok := clientCalls[s.Parent().SpanID().String()]
		if !ok || parent.Name != s.Name() || !s.Parent().IsRemote() {
			t.Errorf("manager span %s (parent %s) is not the child of a client span of the same call", s.Name(), s.Parent().SpanID())
		}
	}
	if cr.ClientCalls != 3 {
		t.Errorf("client mgr.calls = %d, want 3", cr.ClientCalls)
	}

	// The manager's metrics, once the client's Get of "empty" is blocked.
	var rm metricdata.ResourceMetrics
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		rm = metricdata.ResourceMetrics{}
		if err := reader.Collect(ctx, &rm); err != nil {
			t.Fatal(err)
		}
		if n, _ := gauge(rm, "mgr.waiters", attribute.String("mgr.typeid", "syncmgr.Queue")); n == 1 {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("mgr.waiters never showed the blocked Get: %+v", rm)
		}
	}
	if n := sumCounter(rm, "mgr.calls", attribute.String("mgr.side", "manager")); n < 3 {
		t.Errorf("manager mgr.calls = %d, want at least 3", n)
	}
	if n, _ := gauge(rm, "mgr.sessions"); n != 2 {
		t.Errorf("mgr.sessions = %d, want 2 (this process's and the client's)", n)
	}
	if n, _ := gauge(rm, "mgr.objects", attribute.String("mgr.typeid", "syncmgr.Queue")); n != 2 {
		t.Errorf("mgr.objects{syncmgr.Queue} = %d, want 2", n)
	}
	if n, ok := gauge(rm, "mgr.queue.length", attribute.String("mgr.typeid", syncmgr.QueueTypeID[int]())); !ok {
		t.Errorf("no mgr.queue.length")
	} else if n != 2 && n != 0 {
		t.Errorf("mgr.queue.length = %d", n)
	}
	if !hasHistogram(rm, "mgr.call.duration") {
		t.Errorf("no mgr.call.duration histogram")
	}
}

func hasHistogram(rm metricdata.ResourceMetrics, name string) bool {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == name && len(h.DataPoints) > 0 {
				return true
			}
		}
	}
	return false
}
