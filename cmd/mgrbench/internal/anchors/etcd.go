package anchors

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"
	recipe "go.etcd.io/etcd/client/v3/experimental/recipes"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/mgr-go/mgr/internal/bench"
	"github.com/mgr-go/mgr/runtime/etcd"
	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// The etcd rows: the SyncManager types kept in etcd (the nested module runtime/etcd)
// through an etcd-backed manager, against the same operations done directly with the
// etcd client, in the same run, on the same embedded single-member etcd (temporary
// directory, loopback ports). Managers are served from this process over loopback TCP,
// as in runtime/etcd's own benchmarks. Interleaved (bench.Interleave), one call at a
// time:
//
//	Lock Acquire+Release   vs concurrency.Mutex Lock+Unlock
//	Dict Set then Get      vs Put then Get of one key
//	Queue Put then Get     vs the recipe Queue's Enqueue then Dequeue
//
// and the throughput of 12 clients doing Dict.AddNumber on their own Dicts through one
// manager, then spread over three. Each latency row also counts the etcd round trips
// (unary gRPC calls, by an interceptor on each etcd client) one operation made on each
// side: a count, not a timing, the same on any machine.
//
// The latency rows run on two etcds, one after the other: etcd as it ships, which
// fsyncs its log before it answers a write (the etcd.fsync.* rows: what a user of the
// direct client sees), and etcd with UnsafeNoFsync (the etcd.* rows: its fastest
// writes, so the manager's own cost weighs most). The throughput rows run without fsync.

// etcdConfig is one way the embedded etcd runs for the latency rows.
type etcdConfig struct {
	fsync  bool
	prefix string // replaces the rows' leading "etcd."
	label  string // appended to the rows' labels
}

var etcdConfigs = []etcdConfig{
	{fsync: false, prefix: "etcd.", label: " (etcd without fsync)"},
	{fsync: true, prefix: "etcd.fsync.", label: " (etcd fsyncs, its default)"},
}

// keyed returns row with its keys and labels for c.
func (c etcdConfig) keyed(row etcdRow) etcdRow {
	k := func(key string) string { return c.prefix + strings.TrimPrefix(key, "etcd.") }
	return etcdRow{k(row.directKey), row.directLabel + c.label, k(row.mgrKey), row.mgrLabel + c.label, k(row.memKey), row.memLabel + c.label}
}

type etcdRow struct {
	directKey, directLabel string
	mgrKey, mgrLabel       string
	memKey, memLabel       string
}

// The mem rows are the same calls on an in-memory manager in this process, interleaved
// with the other two: the hop alone (client → manager over loopback TCP and back, the
// manager's dispatch), without etcd. An etcd-backed manager's call costs its etcd round
// trips plus that hop, so etcd.X ≈ etcd.Xdirect + etcd.Xmem when it makes the direct
// client's round trips and nothing more.
var etcdRows = []etcdRow{
	{"etcd.lockdirect", "etcd client concurrency.Mutex Lock+Unlock, sequential", "etcd.lock", "etcd-backed manager Lock Acquire+Release, interleaved with the direct client",
		"etcd.lockmem", "in-memory manager Lock Acquire+Release (the hop alone), interleaved"},
	{"etcd.dictdirect", "etcd client Put then Get, sequential", "etcd.dict", "etcd-backed manager Dict[string,int] Set then Get, interleaved",
		"etcd.dictmem", "in-memory manager Dict[string,int] Set then Get (the hop alone), interleaved"},
	{"etcd.queuedirect", "etcd client recipe Queue Enqueue then Dequeue, sequential", "etcd.queue", "etcd-backed manager Queue[int] Put then Get, interleaved",
		"etcd.queuemem", "in-memory manager Queue[int] Put then Get (the hop alone), interleaved"},
}

var etcdThroughput = []struct {
	managers   int
	key, label string
}{
	{1, "etcd.tp1", "etcd-backed: 12 clients Dict.AddNumber through 1 manager"},
	{3, "etcd.tp3", "etcd-backed: 12 clients Dict.AddNumber spread over 3 managers"},
}

func markEtcd(r *bench.Report, status string) {
	for _, c := range etcdConfigs {
		for _, row := range etcdRows {
			markEtcdRow(r, c.keyed(row), status)
		}
	}
	for _, tp := range etcdThroughput {
		r.Mark("etcd", tp.key, tp.label, "ops/s", status)
	}
}

func markEtcdRow(r *bench.Report, row etcdRow, status string) {
	for _, x := range []struct{ key, label string }{{row.directKey, row.directLabel}, {row.mgrKey, row.mgrLabel}} {
		r.Mark("etcd", x.key+".p50", x.label+" p50", "µs", status)
		r.Mark("etcd", x.key+".rate", x.label, "ops/s", status)
		r.Mark("etcd", x.key+".rtt", x.label+": etcd round trips per op", "calls", status)
	}
	r.Mark("etcd", row.memKey+".p50", row.memLabel+" p50", "µs", status)
}

// errNoEtcd says the embedded etcd could not start here (no loopback port, no temp dir).
var errNoEtcd = errors.New("embedded etcd could not start")

// embeddedEtcd is a one-member etcd in this process.
type embeddedEtcd struct {
	e        *embed.Etcd
	dir      string
	endpoint string
}

func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startEtcd starts a one-member etcd in this process; fsync false turns its log's fsync
// off (UnsafeNoFsync).
func startEtcd(ctx context.Context, fsync bool) (*embeddedEtcd, error) {
	cp, err := freeLoopbackPort()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoEtcd, err)
	}
	pp, err := freeLoopbackPort()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoEtcd, err)
	}
	dir, err := os.MkdirTemp("", "mgrbench-etcd-")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoEtcd, err)
	}
	cfg := embed.NewConfig()
	cfg.Name = "bench"
	cfg.Dir = dir
	cu, _ := url.Parse("http://127.0.0.1:" + strconv.Itoa(cp))
	pu, _ := url.Parse("http://127.0.0.1:" + strconv.Itoa(pp))
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = "bench=" + pu.String()
	cfg.LogLevel = "error"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.UnsafeNoFsync = !fsync
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%w: %v", errNoEtcd, err)
	}
	s := &embeddedEtcd{e: e, dir: dir, endpoint: cu.Host}
	select {
	case <-e.Server.ReadyNotify():
		return s, nil
	case err = <-e.Err():
	case <-time.After(60 * time.Second):
		err = errors.New("not ready after 60 s")
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.stop()
	return nil, fmt.Errorf("%w: %v", errNoEtcd, err)
}

func (s *embeddedEtcd) stop() {
	s.e.Close()
	os.RemoveAll(s.dir)
}

// rpcCount counts the unary gRPC calls (etcd round trips) of the etcd clients it is given to.
type rpcCount struct{ n atomic.Int64 }

func (c *rpcCount) dialOptions() []grpc.DialOption {
	if c == nil {
		return nil
	}
	return []grpc.DialOption{grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		c.n.Add(1)
		return invoker(ctx, method, req, reply, cc, opts...)
	})}
}

// etcdManager serves an etcd-backed manager from this process on loopback TCP; rc, if not
// nil, counts its etcd round trips.
func etcdManager(ctx context.Context, endpoint, prefix string, rc *rpcCount) (mgr.Address, func(), error) {
	b, err := etcd.New(ctx, etcd.Config{Endpoints: []string{endpoint}, Prefix: prefix, DialOptions: rc.dialOptions()})
	if err != nil {
		return mgr.Address{}, nil, err
	}
	srv, err := mgr.NewServer(mgr.Options{AuthKey: etcdBenchKey})
	if err == nil {
		err = srv.SetBackend(b)
	}
	var ln net.Listener
	if err == nil {
		ln, err = mgr.Listen(mgr.Address{Network: "tcp", Addr: "127.0.0.1:0"}, nil)
	}
	if err != nil {
		b.Close()
		return mgr.Address{}, nil, err
	}
	go srv.Serve(ln)
	return mgr.ListenerAddress(ln), func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		b.Close()
	}, nil
}

var etcdBenchKey = []byte("mgrbench-etcd")

// memManager serves an in-memory manager (no backend) from this process on loopback TCP.
func memManager() (mgr.Address, func(), error) {
	srv, err := mgr.NewServer(mgr.Options{AuthKey: etcdBenchKey})
	if err != nil {
		return mgr.Address{}, nil, err
	}
	ln, err := mgr.Listen(mgr.Address{Network: "tcp", Addr: "127.0.0.1:0"}, nil)
	if err != nil {
		return mgr.Address{}, nil, err
	}
	go srv.Serve(ln)
	return mgr.ListenerAddress(ln), func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}, nil
}

func runEtcd(ctx context.Context, cfg *bench.Config, r *bench.Report) error {
	for _, ecfg := range etcdConfigs {
		ec, err := startEtcd(ctx, ecfg.fsync)
		if errors.Is(err, errNoEtcd) {
			cfg.Logf("etcd: skipped: %v", err)
			markEtcd(r, "skipped ("+err.Error()+")")
			return nil
		}
		if err != nil {
			markEtcd(r, "error")
			return err
		}
		err = runEtcdRows(ctx, cfg, r, ec, ecfg)
		ec.stop()
		if err != nil {
			return err
		}
	}
	return runEtcdThroughput(ctx, cfg, r)
}

func runEtcdRows(ctx context.Context, cfg *bench.Config, r *bench.Report, ec *embeddedEtcd, ecfg etcdConfig) error {
	var mrc, drc rpcCount
	addr, stop, err := etcdManager(ctx, ec.endpoint, "bench", &mrc)
	if err != nil {
		return err
	}
	defer stop()
	c, l, d, q, err := connectBench(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	// The direct client connects as the manager's backend does (etcd.DialOptions), so the
	// rows compare the manager with the same etcd connection, not with other settings.
	dopts := append(etcd.DialOptions(), drc.dialOptions()...)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ec.endpoint}, DialTimeout: 5 * time.Second, DialOptions: dopts, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer cli.Close()
	sess, err := concurrency.NewSession(cli, concurrency.WithTTL(10))
	if err != nil {
		return err
	}
	defer sess.Close()

	maddr, mstop, err := memManager()
	if err != nil {
		return err
	}
	defer mstop()
	mc, ml, md, mq, err := connectBench(ctx, maddr)
	if err != nil {
		return err
	}
	defer mc.Close()
	mu := concurrency.NewMutex(sess, "direct/lock/")
	rq := recipe.NewQueue(cli, "direct/queue")

	ctx0 := context.Background()
	var di, qi, ri int
	// direct, etcd-backed manager, in-memory manager
	pairs := [][3]func() error{
		{
			func() error {
				if err := mu.Lock(ctx0); err != nil {
					return err
				}
				return mu.Unlock(ctx0)
			},
			func() error {
				if err := l.Acquire(ctx0); err != nil {
					return err
				}
				return l.Release(ctx0)
			},
			func() error {
				if err := ml.Acquire(ctx0); err != nil {
					return err
				}
				return ml.Release(ctx0)
			},
		},
		{
			func() error {
				ri++
				if _, err := cli.Put(ctx0, "direct/dict/k", strconv.Itoa(ri)); err != nil {
					return err
				}
				g, err := cli.Get(ctx0, "direct/dict/k")
				if err == nil && (len(g.Kvs) != 1 || string(g.Kvs[0].Value) != strconv.Itoa(ri)) {
					err = fmt.Errorf("direct Get = %v, want %d", g.Kvs, ri)
				}
				return err
			},
			func() error {
				di++
				if err := d.Set(ctx0, "k", di); err != nil {
					return err
				}
				v, ok, err := d.Get(ctx0, "k")
				if err == nil && (!ok || v != di) {
					err = fmt.Errorf("Dict.Get = %d, %v, want %d", v, ok, di)
				}
				return err
			},
			func() error {
				if err := md.Set(ctx0, "k", di); err != nil {
					return err
				}
				_, _, err := md.Get(ctx0, "k")
				return err
			},
		},
		{
			func() error {
				if err := rq.Enqueue("1"); err != nil {
					return err
				}
				_, err := rq.Dequeue()
				return err
			},
			func() error {
				qi++
				if err := q.Put(ctx0, qi); err != nil {
					return err
				}
				v, err := q.Get(ctx0)
				if err == nil && v != qi {
					err = fmt.Errorf("Queue.Get = %d, want %d", v, qi)
				}
				return err
			},
			func() error {
				if err := mq.Put(ctx0, 1); err != nil {
					return err
				}
				_, err := mq.Get(ctx0)
				return err
			},
		},
	}
	warm, n := bench.Pick(cfg, 50, 300), bench.Pick(cfg, 300, 3000)
	for i, row := range etcdRows {
		row := ecfg.keyed(row)
		mrc.n.Store(0)
		drc.n.Store(0)
		s, err := bench.Interleave(ctx, warm, n, pairs[i][0], pairs[i][1], pairs[i][2])
		if err != nil {
			return fmt.Errorf("%s / %s: %w", row.directKey, row.mgrKey, err)
		}
		ops := float64(warm + n)
		r.Set("etcd", row.directKey+".rtt", row.directLabel+": etcd round trips per op", float64(drc.n.Load())/ops, "calls")
		r.Set("etcd", row.mgrKey+".rtt", row.mgrLabel+": etcd round trips per op", float64(mrc.n.Load())/ops, "calls", row.directKey+".rtt")
		r.Set("etcd", row.directKey+".p50", row.directLabel+" p50", s[0].P50, "µs")
		r.Set("etcd", row.directKey+".rate", row.directLabel, s[0].PerSec, "ops/s")
		r.Set("etcd", row.mgrKey+".p50", row.mgrLabel+" p50", s[1].P50, "µs", row.directKey+".p50")
		r.Set("etcd", row.mgrKey+".rate", row.mgrLabel, s[1].PerSec, "ops/s", row.directKey+".rate")
		r.Set("etcd", row.memKey+".p50", row.memLabel+" p50", s[2].P50, "µs")
	}
	return nil
}

// runEtcdThroughput: 12 clients, each with a Dict of its own, doing AddNumber from 12
// goroutines, all through one manager, then spread over three (each its own etcd
// client). The ratio 3/1 says whether managers add capacity or etcd is the ceiling.
// Each is measured twice, in the order 1, 3, 3, 1, each time on an etcd of its own, and
// keeps its best: measured once each on one etcd, the second was the slower, whichever
// it was.
func runEtcdThroughput(ctx context.Context, cfg *bench.Config, r *bench.Report) error {
	const clients = 12
	window := bench.Pick(cfg, 500*time.Millisecond, 3*time.Second)
	best := make([]float64, len(etcdThroughput))
	for _, i := range []int{0, 1, 1, 0} {
		tp := etcdThroughput[i]
		ec, err := startEtcd(ctx, false)
		if err != nil {
			return err
		}
		stops := []func(){ec.stop}
		var ds []*syncmgr.DictProxy[string, int]
		err = func() error {
			for m := range tp.managers {
				addr, stop, err := etcdManager(ctx, ec.endpoint, fmt.Sprintf("tp%d", tp.managers), nil)
				if err != nil {
					return err
				}
				stops = append(stops, stop)
				for range clients / tp.managers {
					c, err := mgr.Connect(ctx, mgr.Options{Address: addr, AuthKey: etcdBenchKey})
					if err != nil {
						return err
					}
					stops = append(stops, func() { c.Close() })
					d, err := syncmgr.CreateDict[string, int](ctx, c)
					if err != nil {
						return fmt.Errorf("manager %d: %w", m, err)
					}
					ds = append(ds, d)
				}
			}
			var next atomic.Uint64
			ctx0 := context.Background()
			rate, err := bench.Parallel(clients, window, func() error {
				_, err := ds[next.Add(1)%uint64(len(ds))].AddNumber(ctx0, "n", 1)
				return err
			})
			if err != nil {
				return err
			}
			best[i] = max(best[i], rate)
			return nil
		}()
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", tp.key, err)
		}
	}
	for i, tp := range etcdThroughput {
		var anchors []string
		if i > 0 {
			anchors = []string{etcdThroughput[0].key}
		}
		r.Set("etcd", tp.key, tp.label+" (best of 2)", best[i], "ops/s", anchors...)
	}
	return nil
}

// connectBench connects to the manager at addr and creates through it the Lock, Dict and
// Queue the per-op rows use; the caller closes the client.
func connectBench(ctx context.Context, addr mgr.Address) (*mgr.Client, *syncmgr.LockProxy, *syncmgr.DictProxy[string, int], *syncmgr.QueueProxy[int], error) {
	c, err := mgr.Connect(ctx, mgr.Options{Address: addr, AuthKey: etcdBenchKey})
	if err != nil {
		return nil, nil, nil, nil, err
	}
	fail := func(err error) (*mgr.Client, *syncmgr.LockProxy, *syncmgr.DictProxy[string, int], *syncmgr.QueueProxy[int], error) {
		c.Close()
		return nil, nil, nil, nil, err
	}
	l, err := syncmgr.CreateLock(ctx, c)
	if err != nil {
		return fail(err)
	}
	d, err := syncmgr.CreateDict[string, int](ctx, c)
	if err != nil {
		return fail(err)
	}
	q, err := syncmgr.CreateQueue[int](ctx, c, 0)
	if err != nil {
		return fail(err)
	}
	return c, l, d, q, nil
}
