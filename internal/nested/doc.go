// Package nested runs the tests of mgr's nested modules — runtime/etcd (the etcd
// backend), runtime/otel (OpenTelemetry) and cmd/mgrbench (the benchmark, with its Redis,
// gRPC and etcd anchors) — from the root module's `go test ./...`, which does not enter
// a directory with a go.mod of its own. The nested modules keep their heavy dependencies
// out of the root module; this package only runs the go command in them, so a root
// `go test -race ./...` is the whole suite.
package nested
