// Package anchors adds the rows of the tools a Go user would pick instead of mgr to
// mgrbench: Redis (go-redis over a Unix socket, against a redis-server the harness
// starts), gRPC-go (over a Unix socket, served by a peer process), and the etcd rows (an
// etcd-backed manager, runtime/etcd, against the etcd client itself, on an embedded
// etcd). It lives in cmd/mgrbench's own module so that the root module never depends on
// go-redis, grpc or etcd.
package anchors

import "github.com/mgr-go/mgr/internal/bench"

// Add adds the Redis and gRPC rows to cfg: the gRPC sequential row is measured
// interleaved with the floor, net/rpc and mgr; its 64-goroutine row and the Redis rows
// are sections of their own ("grpc", "redis"); gRPC joins the goroutine sweep.
func Add(cfg *bench.Config) {
	cfg.Seq = append(cfg.Seq, grpcContender("grpc.seq", "gRPC-go sequential unary Add"))
	cfg.Par = append(cfg.Par, grpcContender("grpc", "gRPC-go"))
	cfg.Sections = append(cfg.Sections,
		bench.Section{Name: "grpc", Run: runGRPC},
		bench.Section{Name: "redis", Run: runRedis},
		bench.Section{Name: "etcd", Run: runEtcd},
	)
}
