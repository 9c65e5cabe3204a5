package anchors

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"

	"github.com/mgr-go/mgr/internal/bench"
)

// The gRPC-go anchor: the same trivial method as the other rows (add an int to a
// counter, return the new value), a unary call over a Unix socket to a peer process.
//
// No protoc and no generated .pb.go: the service descriptor is written by hand
// (counterDesc) and messages go through a raw-bytes codec (rawCodec, registered under
// the content-subtype "mgrbench-raw" and chosen per call with grpc.CallContentSubtype).
// The message is the int as a varint — what the protobuf encoding of a message with
// one int64 field costs, minus its one tag byte — so the row measures gRPC's transport
// (HTTP/2 framing, headers, its goroutines), not a codec.

func init() {
	encoding.RegisterCodec(rawCodec{})
	bench.RegisterRole("grpc", roleGRPC)
}

// rawMsg is a message: bytes gRPC sends as they are.
type rawMsg struct{ b []byte }

// rawCodec passes *rawMsg bytes through untouched.
type rawCodec struct{}

func (rawCodec) Name() string { return rawSubtype }

func (rawCodec) Marshal(v any) ([]byte, error) {
	m, ok := v.(*rawMsg)
	if !ok {
		return nil, fmt.Errorf("mgrbench-raw codec: cannot marshal %T", v)
	}
	return m.b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(*rawMsg)
	if !ok {
		return fmt.Errorf("mgrbench-raw codec: cannot unmarshal into %T", v)
	}
	m.b = append(m.b[:0], data...)
	return nil
}

const (
	rawSubtype = "mgrbench-raw"
	addMethod  = "/mgrbench.Counter/Add"
)

// counterServer is the service's handler type (what protoc would have generated).
type counterServer interface {
	add(in *rawMsg) (*rawMsg, error)
}

// counter is the served object.
type counter struct {
	mu sync.Mutex
	n  int64
}

func (c *counter) add(in *rawMsg) (*rawMsg, error) {
	d, k := binary.Varint(in.b)
	if k <= 0 {
		return nil, errors.New("Add: the argument is not a varint")
	}
	c.mu.Lock()
	c.n += d
	n := c.n
	c.mu.Unlock()
	return &rawMsg{b: binary.AppendVarint(nil, n)}, nil
}

var counterDesc = grpc.ServiceDesc{
	ServiceName: "mgrbench.Counter",
	HandlerType: (*counterServer)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Add",
		Handler: func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
			in := new(rawMsg)
			if err := dec(in); err != nil {
				return nil, err
			}
			if icpt == nil {
				return srv.(counterServer).add(in)
			}
			info := &grpc.UnaryServerInfo{Server: srv, FullMethod: addMethod}
			return icpt(ctx, in, info, func(_ context.Context, req any) (any, error) {
				return srv.(counterServer).add(req.(*rawMsg))
			})
		},
	}},
	Metadata: "hand-written (no .proto)",
}

type sockCfg struct{ Path string }

// roleGRPC serves the counter on cfg.Path until its stdin closes.
func roleGRPC(raw json.RawMessage, in *bufio.Reader, out *json.Encoder) error {
	var cfg sockCfg
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return err
	}
	ln, err := net.Listen("unix", cfg.Path)
	if err != nil {
		return err
	}
	srv := grpc.NewServer()
	srv.RegisterService(&counterDesc, &counter{})
	go func() { bench.WaitEOF(in); os.Exit(0) }()
	if err := bench.Ready(out); err != nil {
		return err
	}
	return srv.Serve(ln)
}

// dialGRPC starts the gRPC peer and returns a connection to it.
func dialGRPC() (*grpc.ClientConn, func(), error) {
	path, cleanup, err := bench.TempSock("grpc.sock")
	if err != nil {
		return nil, nil, err
	}
	p, err := bench.StartPeer("grpc", sockCfg{Path: path})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	conn, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		p.Stop()
		cleanup()
		return nil, nil, err
	}
	return conn, func() { conn.Close(); p.Stop(); cleanup() }, nil
}

// addOp is one unary Add(1) on conn; it checks the reply decodes.
func addOp(conn *grpc.ClientConn) func() error {
	ctx := context.Background()
	arg := binary.AppendVarint(nil, 1)
	return func() error {
		var reply rawMsg
		if err := conn.Invoke(ctx, addMethod, &rawMsg{b: arg}, &reply, grpc.CallContentSubtype(rawSubtype)); err != nil {
			return err
		}
		if _, k := binary.Varint(reply.b); k <= 0 {
			return fmt.Errorf("Add: reply %x is not a varint", reply.b)
		}
		return nil
	}
}

func grpcContender(key, label string) bench.Contender {
	return bench.Contender{Key: key, Label: label, Start: func(context.Context) (func() error, func(), error) {
		conn, stop, err := dialGRPC()
		if err != nil {
			return nil, nil, err
		}
		return addOp(conn), stop, nil
	}}
}

// runGRPC measures 64 goroutines sharing one gRPC connection (the sequential rows are
// measured with the others in section seq).
func runGRPC(ctx context.Context, cfg *bench.Config, r *bench.Report) error {
	conn, stop, err := dialGRPC()
	if err != nil {
		return err
	}
	defer stop()
	rate, err := bench.Parallel(64, bench.Pick(cfg, 1500*time.Millisecond, 4*time.Second), addOp(conn))
	if err != nil {
		return err
	}
	r.Set("grpc", "grpc.par64", "gRPC-go 64 goroutines, one connection", rate, "calls/s", "rpc.par64")
	return nil
}
