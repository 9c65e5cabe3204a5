package etcd

import "google.golang.org/grpc"

// The gRPC connection a manager keeps to etcd. gRPC sizes its flow-control windows by
// estimating the bandwidth-delay product: after each response it sends a PING (with a
// WINDOW_UPDATE) and waits for the PING ack. A manager's connection carries one small
// request and one small response after another, so each estimate is a write on the
// client, a read, a write and a read on the server, and another read here — between a
// call's reply and the next call, on the path the next call takes: counted with strace
// over Dict Set+Get through a manager, 15.3 writes and 27.7 reads per operation with the
// estimator, 13.0 and 22.5 without; the next call's request waited 10 µs for the manager's
// reader with it, 3.5 µs without (2 vCPUs). A fixed window turns the estimator off. It is
// sized so that etcd's largest request (1.5 MiB by default) fits in one stream's window,
// and a few of them in the connection's: a value that large never waits for a window
// update, and small ones never cost a ping.

const (
	streamWindow = 2 << 20
	connWindow   = 8 << 20
)

// DialOptions returns the gRPC options New gives its etcd client before
// Config.DialOptions (which may override them): fixed flow-control windows, so no
// bandwidth-estimation pings between calls. Benchmarks give them to an etcd client
// they compare a manager with, so both use the same connection settings.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithInitialWindowSize(streamWindow), grpc.WithInitialConnWindowSize(connWindow)}
}
