package anchors

import (
	"context"
	"encoding/binary"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/bench"
	"github.com/mgr-go/mgr/runtime/mgr"
	"google.golang.org/grpc"
)

func TestMain(m *testing.M) {
	mgr.RunChild()  // manager children are this test binary
	bench.RunRole() // and so is the gRPC server peer
	m.Run()
}

// TestGRPCCounter calls the hand-described service through the raw codec in another
// process and checks the counter it returns.
func TestGRPCCounter(t *testing.T) {
	conn, stop, err := dialGRPC()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctx := context.Background()
	for want := int64(3); want <= 30; want += 3 {
		var reply rawMsg
		if err := conn.Invoke(ctx, addMethod, &rawMsg{b: binary.AppendVarint(nil, 3)}, &reply, grpc.CallContentSubtype(rawSubtype)); err != nil {
			t.Fatal(err)
		}
		if got, k := binary.Varint(reply.b); k <= 0 || got != want {
			t.Fatalf("Add(3) = %d (%x), want %d", got, reply.b, want)
		}
	}
	// A bad argument is the server's error, not a crash.
	var reply rawMsg
	err = conn.Invoke(ctx, addMethod, &rawMsg{b: []byte{0x80}}, &reply, grpc.CallContentSubtype(rawSubtype))
	if err == nil || !strings.Contains(err.Error(), "not a varint") {
		t.Errorf("Add(bad varint) = %v", err)
	}
	// The rows' operation, from goroutines.
	rate, err := bench.Parallel(8, 200*time.Millisecond, addOp(conn))
	if err != nil || rate <= 0 {
		t.Errorf("8 goroutines: %v calls/s, %v", rate, err)
	}
}

func TestGRPCRow(t *testing.T) {
	r := &bench.Report{}
	cfg := &bench.Config{Quick: true}
	if err := runGRPC(context.Background(), cfg, r); err != nil {
		t.Fatal(err)
	}
	wantValues(t, r, "grpc.par64")
}

// TestRedisRows runs the Redis rows, quick, against a real redis-server.
func TestRedisRows(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (apt-get install redis-server); the Redis rows skip the same way")
	}
	r := &bench.Report{}
	if err := runRedis(context.Background(), &bench.Config{Quick: true}, r); err != nil {
		t.Fatal(err)
	}
	for _, row := range redisRows {
		wantValues(t, r, row.redisKey+".p50", row.redisKey+".rate", row.mgrKey+".p50", row.mgrKey+".rate")
	}
}

// TestRedisMissingSkips: without redis-server the rows are marked skipped, not failed.
func TestRedisMissingSkips(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	r := &bench.Report{}
	if err := runRedis(context.Background(), &bench.Config{Quick: true}, r); err != nil {
		t.Fatalf("without redis-server: %v", err)
	}
	if len(r.Metrics) != 4*len(redisRows) {
		t.Fatalf("%d rows marked, want %d", len(r.Metrics), 4*len(redisRows))
	}
	for _, m := range r.Metrics {
		if m.Value != nil || !strings.HasPrefix(m.Status, "skipped") {
			t.Errorf("%s: value %v, status %q", m.Key, m.Value, m.Status)
		}
	}
}

func wantValues(t *testing.T, r *bench.Report, keys ...string) {
	t.Helper()
	for _, k := range keys {
		found := false
		for _, m := range r.Metrics {
			if m.Key == k {
				found = true
				if m.Value == nil || *m.Value <= 0 {
					t.Errorf("%s: no positive value (%s)", k, m.Status)
				}
			}
		}
		if !found {
			t.Errorf("%s: no row", k)
		}
	}
}

// TestEtcdRows runs the etcd rows, quick, on an embedded etcd: every row has a value.
func TestEtcdRows(t *testing.T) {
	r := &bench.Report{}
	if err := runEtcd(context.Background(), &bench.Config{Quick: true}, r); err != nil {
		t.Fatal(err)
	}
	for _, m := range r.Metrics {
		if strings.HasPrefix(m.Status, "skipped") {
			t.Skipf("etcd rows skipped: %s", m.Status)
		}
	}
	for _, c := range etcdConfigs {
		for _, row := range etcdRows {
			row := c.keyed(row)
			wantValues(t, r, row.directKey+".p50", row.directKey+".rate", row.mgrKey+".p50", row.mgrKey+".rate", row.memKey+".p50")
		}
	}
	for _, tp := range etcdThroughput {
		wantValues(t, r, tp.key)
	}
}
