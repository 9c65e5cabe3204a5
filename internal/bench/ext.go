package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"time"
)

// The extension API: what cmd/mgrbench's own module (the Redis and gRPC anchors, whose
// dependencies the root module must not carry) uses to add rows to a run. Rows added
// this way are measured and reported exactly like the built-in ones.

// Contender is a row measured by the harness with an operation set up elsewhere.
type Contender struct {
	// Key is the metric key prefix ("grpc.seq" gives grpc.seq.p50, grpc.seq.p99 and
	// grpc.seq.rate); Label describes one operation.
	Key, Label string
	// Start sets the contender up and returns one operation (safe for concurrent use
	// when the contender is used with goroutines) and a function that tears it down.
	Start func(ctx context.Context) (op func() error, stop func(), err error)
}

// Section is a group of rows Run runs after the built-in sections, in order, when
// Config.Only is empty or names it.
type Section struct {
	Name string
	Run  func(ctx context.Context, cfg *Config, r *Report) error
}

// Role is a peer process's body (see RegisterRole): its configuration line, the rest
// of its stdin, and where to write its "ready" and result lines.
type Role func(cfg json.RawMessage, in *bufio.Reader, out *json.Encoder) error

// RegisterRole makes name a peer role this binary can be re-executed as (StartPeer).
// Call it from an init function: RunRole looks roles up before main's flags are read.
func RegisterRole(name string, run Role) { roles[name] = run }

// Peer is a peer process started by StartPeer.
type Peer struct{ p *peer }

// StartPeer re-executes this binary as role with cfg (sent as JSON) and waits until the
// peer says it is ready.
func StartPeer(role string, cfg any) (*Peer, error) {
	p, err := startPeer(role, cfg)
	if err != nil {
		return nil, err
	}
	return &Peer{p}, nil
}

// Stop ends the peer (closing its stdin; killing it after 5 s).
func (p *Peer) Stop() { p.p.stop() }

// Ready tells the parent a peer is set up.
func Ready(out *json.Encoder) error { return ready(out) }

// WaitEOF blocks until the parent closes the peer's stdin.
func WaitEOF(in *bufio.Reader) { waitEOF(in) }

// TempSock returns a socket path in a new temporary directory and a function removing it.
func TempSock(name string) (string, func(), error) { return tempSock(name) }

// Set records a measured value with the keys of the metrics it is compared with.
func (r *Report) Set(section, key, label string, v float64, unit string, anchors ...string) *Metric {
	return r.set(section, key, label, v, unit, anchors...)
}

// Mark records a row without a value; status says why ("skipped (…)", "error: …").
func (r *Report) Mark(section, key, label, unit, status string, anchors ...string) *Metric {
	return r.mark(section, key, label, unit, status, anchors...)
}

// Pick returns quick in quick mode and full otherwise.
func Pick[T any](c *Config, quick, full T) T { return pick(c, quick, full) }

// Logf writes a progress line when the run has a log.
func (c *Config) Logf(format string, args ...any) { c.logf(format, args...) }

// Parallel runs op from g goroutines for d (after a warm-up of d/5) and returns ops/s.
func Parallel(g int, d time.Duration, op func() error) (float64, error) { return parallel(g, d, op) }

// anchorBlock is how many calls of one operation Interleave runs back to back. Its
// operations take 30 µs to 1 ms (Redis, etcd), so a round of every operation lasts a few
// milliseconds: short enough that all of them see the same phase of a noisy machine.
// (With seqBlock's 500, the etcd rows' 300 calls in -quick ran as one block each,
// one operation after the other: not interleaved at all, and their ratios moved from
// 0.9× to 1.9× between runs.)
const anchorBlock = 10

// Summary is what Interleave measured of one operation.
type Summary struct {
	P50, P99 float64 // µs
	PerSec   float64 // operations per second of time spent in them
	// Q holds the quantiles of the latency, Q[i] the i/1000 quantile in µs (for plots).
	Q []float64
}

// Interleave times the operations in rounds of anchorBlock calls each, the order
// rotating every round, until each ran n times (after warm calls each): the operations
// see the same machine, which on a shared one matters more than anything else.
func Interleave(ctx context.Context, warm, n int, ops ...func() error) ([]Summary, error) {
	lats, err := interleave(ctx, warm, n, anchorBlock, ops)
	if err != nil {
		return nil, err
	}
	out := make([]Summary, len(lats))
	for i, l := range lats {
		s := l.summary()
		out[i] = Summary{P50: s.P50, P99: s.P99, PerSec: s.PerSec, Q: l.sorted().quantiles()}
	}
	return out, nil
}

// AddDist records a latency distribution (quantiles as in Summary.Q) for the plots.
func (r *Report) AddDist(key, label string, q []float64) {
	if len(q) > 0 {
		r.Dists = append(r.Dists, Dist{Key: key, Label: label, Q: q})
	}
}
