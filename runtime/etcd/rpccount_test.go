package etcd_test

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/etcd"
	"github.com/mgr-go/mgr/runtime/mgr"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
)

// rpcCounter counts the gRPC calls an etcd client makes, by method: unary calls, and
// streams opened (LeaseKeepAlive, Watch).
type rpcCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func newRPCCounter() *rpcCounter { return &rpcCounter{n: map[string]int{}} }

func (c *rpcCounter) add(method string) {
	c.mu.Lock()
	c.n[method[strings.LastIndexByte(method, '/')+1:]]++
	c.mu.Unlock()
}

func (c *rpcCounter) dialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			c.add(method)
			return invoker(ctx, method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			c.add(method + "(stream)")
			return streamer(ctx, desc, cc, method, opts...)
		}),
	}
}

// take returns the counts since the last take, and starts again from zero.
func (c *rpcCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

func (c *rpcCounter) total(m map[string]int) int {
	t := 0
	for _, v := range m {
		t += v
	}
	return t
}

func countsString(m map[string]int) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var b strings.Builder
	for _, k := range ks {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString(k + "=" + strconv.Itoa(m[k]))
	}
	return b.String()
}

// countingManager serves an etcd-backed manager in this process whose etcd client counts
// its round trips.
func countingManager(t testing.TB, endpoints []string, prefix string) (mgr.Address, *rpcCounter) {
	t.Helper()
	rc := newRPCCounter()
	ctx := testCtx(t, 30*time.Second)
	b, err := etcd.New(ctx, etcd.Config{Endpoints: endpoints, Prefix: prefix, TTL: 10 * time.Second, DialOptions: rc.dialOptions()})
	if err != nil {
		t.Fatal(err)
	}
	return serveBackend(t, ctx, b, mgr.Address{Network: "tcp", Addr: "127.0.0.1:0"}, mgr.Options{}), rc
}

func countingClient(t testing.TB, endpoints []string) (*clientv3.Client, *rpcCounter) {
	t.Helper()
	rc := newRPCCounter()
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, DialOptions: rc.dialOptions()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli, rc
}

// waitStream waits until rc has seen a stream of method opened (the backend's collector
// opens its Watch once its start-up sweep is done: counts taken after it are the calls'
// own).
func (c *rpcCounter) waitStream(t testing.TB, method string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c.mu.Lock()
		n := c.n[method+"(stream)"]
		c.mu.Unlock()
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s stream opened after 30 s", method)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
