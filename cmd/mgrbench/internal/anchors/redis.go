package anchors

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mgr-go/mgr/internal/bench"
	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// The Redis anchor: a redis-server the harness starts on a temporary Unix socket
// (persistence off), reached with go-redis, against a child-process mgr manager's
// syncmgr Dict[string,int] and Queue[int] — the same operations, one client, one at a
// time, interleaved (bench.Interleave) so both see the same machine:
//
//	Dict Set(k, i)          vs HSET h k i
//	Dict GetItem(k)         vs HGET h k
//	Queue Put(i) then Get() vs LPUSH q i then BRPOP q   (two round trips each)

// redisRow is one pair of rows: Redis's and mgr's.
type redisRow struct {
	redisKey, redisLabel string
	mgrKey, mgrLabel     string
}

var redisRows = []redisRow{
	{"redis.hset", "Redis HSET over a Unix socket (go-redis), sequential", "redis.mgrset", "mgr Dict[string,int] Set, sequential, interleaved with HSET"},
	{"redis.hget", "Redis HGET, sequential", "redis.mgrget", "mgr Dict[string,int] GetItem, sequential, interleaved with HGET"},
	{"redis.queue", "Redis LPUSH then BRPOP, sequential", "redis.mgrqueue", "mgr Queue[int] Put then Get, sequential, interleaved with LPUSH/BRPOP"},
}

// redisServer is a redis-server child process.
type redisServer struct {
	cmd  *exec.Cmd
	dir  string
	Sock string
}

// errNoRedis says redis-server is not installed.
var errNoRedis = errors.New("redis-server not found on PATH (apt-get install redis-server)")

// startRedis starts redis-server on a Unix socket in a temporary directory and waits
// until it says it accepts connections.
func startRedis(ctx context.Context) (*redisServer, error) {
	exe, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errNoRedis
	}
	dir, err := os.MkdirTemp("", "mgrbench-redis-")
	if err != nil {
		return nil, err
	}
	s := &redisServer{dir: dir, Sock: filepath.Join(dir, "redis.sock")}
	s.cmd = exec.Command(exe, "--port", "0", "--unixsocket", s.Sock, "--unixsocketperm", "700",
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--loglevel", "notice")
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the harness
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.cmd.Stderr = s.cmd.Stdout
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var last []string
		for sc.Scan() {
			line := sc.Text()
			// 7.0: "The server is now ready to accept connections at …";
			// 7.2: "Ready to accept connections unix".
			if strings.Contains(strings.ToLower(line), "ready to accept connections") {
				ready <- nil
				go func() {
					for sc.Scan() {
					}
				}()
				return
			}
			last = append(last, line)
		}
		ready <- fmt.Errorf("redis-server exited before it was ready: %s", strings.Join(last[max(0, len(last)-3):], " / "))
	}()
	select {
	case err = <-ready:
	case <-time.After(30 * time.Second):
		err = errors.New("redis-server did not say it was ready within 30 s")
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *redisServer) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	os.RemoveAll(s.dir)
}

func markRedis(r *bench.Report, status string) {
	for _, row := range redisRows {
		for _, x := range []struct{ key, label string }{{row.redisKey, row.redisLabel}, {row.mgrKey, row.mgrLabel}} {
			r.Mark("redis", x.key+".p50", x.label+" p50", "µs", status)
			r.Mark("redis", x.key+".rate", x.label, "ops/s", status)
		}
	}
}

func runRedis(ctx context.Context, cfg *bench.Config, r *bench.Report) error {
	srv, err := startRedis(ctx)
	if errors.Is(err, errNoRedis) {
		cfg.Logf("redis: skipped: %v", err)
		markRedis(r, "skipped (no redis-server)")
		return nil
	}
	if err != nil {
		markRedis(r, "error")
		return err
	}
	defer srv.stop()
	rc := redis.NewClient(&redis.Options{Network: "unix", Addr: srv.Sock})
	defer rc.Close()
	if err := rc.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis PING: %w", err)
	}

	m, err := mgr.Start(ctx, mgr.Options{})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.Shutdown(sctx)
	}()
	d, err := syncmgr.CreateDict[string, int](ctx, m.Client())
	if err != nil {
		return err
	}
	q, err := syncmgr.CreateQueue[int](ctx, m.Client(), 0)
	if err != nil {
		return err
	}

	warm, n := bench.Pick(cfg, 500, 2000), bench.Pick(cfg, 5000, 30000)
	keys := make([]string, warm+n)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
	}
	// Each op walks keys on its own counter: every Set writes a new field, and the Gets
	// then read fields that exist.
	walk := func(op func(k string, i int) error) func() error {
		i := 0
		return func() error {
			k := keys[i%len(keys)]
			err := op(k, i)
			i++
			return err
		}
	}
	ctx0 := context.Background()
	pairs := [][2]func() error{
		{
			walk(func(k string, i int) error { return rc.HSet(ctx0, "h", k, i).Err() }),
			walk(func(k string, i int) error { return d.Set(ctx0, k, i) }),
		},
		{
			walk(func(k string, i int) error {
				v, err := rc.HGet(ctx0, "h", k).Int()
				if err == nil && v != i%len(keys) {
					err = fmt.Errorf("HGET h %s = %d, want %d", k, v, i%len(keys))
				}
				return err
			}),
			walk(func(k string, i int) error {
				v, err := d.GetItem(ctx0, k)
				if err == nil && v != i%len(keys) {
					err = fmt.Errorf("mgr Dict[%s] = %d, want %d", k, v, i%len(keys))
				}
				return err
			}),
		},
		{
			walk(func(_ string, i int) error {
				if err := rc.LPush(ctx0, "q", i).Err(); err != nil {
					return err
				}
				kv, err := rc.BRPop(ctx0, 10*time.Second, "q").Result()
				if err == nil && (len(kv) != 2 || kv[1] != strconv.Itoa(i)) {
					err = fmt.Errorf("BRPOP q = %q, want %d", kv, i)
				}
				return err
			}),
			walk(func(_ string, i int) error {
				if err := q.Put(ctx0, i); err != nil {
					return err
				}
				v, err := q.Get(ctx0)
				if err == nil && v != i {
					err = fmt.Errorf("mgr Queue.Get = %d, want %d", v, i)
				}
				return err
			}),
		},
	}
	for i, row := range redisRows {
		s, err := bench.Interleave(ctx, warm, n, pairs[i][0], pairs[i][1])
		if err != nil {
			return fmt.Errorf("%s / %s: %w", row.redisKey, row.mgrKey, err)
		}
		r.Set("redis", row.redisKey+".p50", row.redisLabel+" p50", s[0].P50, "µs")
		r.Set("redis", row.redisKey+".rate", row.redisLabel, s[0].PerSec, "ops/s")
		r.Set("redis", row.mgrKey+".p50", row.mgrLabel+" p50", s[1].P50, "µs", row.redisKey+".p50")
		r.Set("redis", row.mgrKey+".rate", row.mgrLabel, s[1].PerSec, "ops/s", row.redisKey+".rate")
	}
	return nil
}
