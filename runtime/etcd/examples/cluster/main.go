// Command cluster shows the SyncManager types on etcd, served by three managers at once,
// surviving the death of one of them.
//
// It starts an embedded etcd (or uses -etcd ENDPOINTS), three manager processes and
// eight worker processes spread across them. The workers take numbers from one Queue
// and add them, under one Lock, to a counter in one Dict. A third of the way through,
// manager 0 is killed (SIGKILL); its workers' sessions are adopted by the other managers
// and they go on; the sum comes out exact — no item lost, none counted twice: the queue
// hands each item out exactly once across the failover (see worker.go).
//
//	go run ./examples/cluster               # from runtime/etcd
//	go run ./examples/cluster -items 5000 -etcd 127.0.0.1:2379
//
// The processes are this binary again: CLUSTER_ROLE says which part it plays.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mgr-go/mgr/runtime/etcd"
	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
	"go.etcd.io/etcd/server/v3/embed"
)

var authKey = []byte("cluster-example-key-change-me-0123")

func main() {
	os.Exit(Main(os.Args[1:]))
}

// Main runs the example (or, in a child, its role) and returns the exit code.
func Main(args []string) int {
	switch os.Getenv("CLUSTER_ROLE") {
	case "manager":
		return manager()
	case "worker":
		return worker()
	}
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	endpoints := fs.String("etcd", "", "etcd endpoints, comma-separated (default: start an embedded etcd)")
	items := fs.Int("items", 2000, "how many items to pass through the queue")
	workers := fs.Int("workers", 8, "how many worker processes")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := run(*endpoints, *items, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		return 1
	}
	return 0
}

func run(endpoints string, items, workers int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	prefix := fmt.Sprintf("cluster-example-%d", time.Now().UnixNano())
	if endpoints == "" {
		dir, err := os.MkdirTemp("", "cluster-etcd-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		e, ep, err := embeddedEtcd(dir)
		if err != nil {
			return err
		}
		defer e.Close()
		endpoints = ep
		fmt.Println("embedded etcd on", ep)
	}
	// Three managers, each its own process, all on the same etcd and prefix.
	var addrs []string
	var managers []*exec.Cmd
	for range 3 {
		port, err := freePort()
		if err != nil {
			return err
		}
		a := "tcp:127.0.0.1:" + strconv.Itoa(port)
		cmd, err := child("manager", "ADDR="+a, "ETCD="+endpoints, "PREFIX="+prefix)
		if err != nil {
			return err
		}
		defer cmd.Process.Kill()
		managers, addrs = append(managers, cmd), append(addrs, a)
	}
	var maddrs []mgr.Address
	for _, a := range addrs {
		ma, _ := mgr.ParseAddress(a)
		maddrs = append(maddrs, ma)
	}
	// This process's own session is with manager 2, which survives.
	c, err := waitConnect(ctx, maddrs[2])
	if err != nil {
		return err
	}
	defer c.Close()
	q, err := syncmgr.LookupQueue[int](ctx, c, "items")
	if err != nil {
		return err
	}
	d, err := syncmgr.LookupDict[string, int](ctx, c, "totals")
	if err != nil {
		return err
	}
	for i := 0; i < items; i += 100 {
		batch := make([]int, 0, 100)
		for j := i; j < min(i+100, items); j++ {
			batch = append(batch, j)
		}
		if err := q.PutMany(ctx, batch); err != nil {
			return err
		}
	}
	for _, a := range maddrs[:2] {
		if _, err := waitConnect(ctx, a); err != nil {
			return err
		}
	}
	start := time.Now()
	var ws []*exec.Cmd
	for i := range workers {
		cmd, err := child("worker", "ID="+strconv.Itoa(i), "START="+strconv.Itoa(i%3), "ITEMS="+strconv.Itoa(items), "ADDRS="+strings.Join(addrs, ","))
		if err != nil {
			return err
		}
		defer cmd.Process.Kill()
		ws = append(ws, cmd)
	}
	fmt.Printf("3 managers, %d workers, %d items\n", workers, items)
	for backoff := time.Millisecond; ; backoff = min(2*backoff, 100*time.Millisecond) {
		n, _, err := d.Get(ctx, "n")
		if err != nil {
			return err
		}
		if n >= items/3 {
			fmt.Printf("%d items counted: killing manager 0 (pid %d)\n", n, managers[0].Process.Pid)
			managers[0].Process.Kill()
			break
		}
		time.Sleep(backoff) // a progress check, not a correctness wait
	}
	for i, w := range ws {
		if err := w.Wait(); err != nil {
			return fmt.Errorf("worker %d: %w", i, err)
		}
	}
	m, err := d.Copy(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("done in %v: n=%d sum=%d (want n=%d sum=%d)\n", time.Since(start).Round(time.Millisecond), m["n"], m["sum"], items, items*(items-1)/2)
	if m["n"] != items || m["sum"] != items*(items-1)/2 {
		return errors.New("counts are wrong")
	}
	fmt.Println("nothing lost, nothing counted twice")
	return nil
}

func child(role string, env ...string) (*exec.Cmd, error) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "CLUSTER_ROLE="+role)
	for _, e := range env {
		cmd.Env = append(cmd.Env, "CLUSTER_"+e)
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // die with us
	return cmd, cmd.Start()
}

func waitConnect(ctx context.Context, a mgr.Address) (*mgr.Client, error) {
	for backoff := 10 * time.Millisecond; ; backoff = min(2*backoff, 500*time.Millisecond) {
		c, err := mgr.Connect(ctx, mgr.Options{Address: a, AuthKey: authKey, ResumeWindow: -1})
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("manager %s: %w", a, err)
		case <-time.After(backoff):
		}
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func embeddedEtcd(dir string) (*embed.Etcd, string, error) {
	cp, err := freePort()
	if err != nil {
		return nil, "", err
	}
	pp, err := freePort()
	if err != nil {
		return nil, "", err
	}
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cu, _ := url.Parse("http://127.0.0.1:" + strconv.Itoa(cp))
	pu, _ := url.Parse("http://127.0.0.1:" + strconv.Itoa(pp))
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = cfg.Name + "=" + pu.String()
	cfg.LogLevel = "error"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, cu.Host, nil
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, "", errors.New("embedded etcd not ready after 60 s")
	}
}

// manager serves until killed, its objects in etcd; the first manager to start declares
// them, the others find them.
func manager() int {
	addr, err := mgr.ParseAddress(os.Getenv("CLUSTER_ADDR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	cfg := etcd.Config{Endpoints: strings.Split(os.Getenv("CLUSTER_ETCD"), ","), Prefix: os.Getenv("CLUSTER_PREFIX"), TTL: 10 * time.Second}
	err = etcd.Serve(context.Background(), mgr.Options{Address: addr, AuthKey: authKey}, cfg, func(ctx context.Context, b *etcd.Backend) error {
		if err := b.Declare(ctx, "items", syncmgr.QueueTypeID[int](), func(e *mgr.Encoder) { e.Int64(0) }); err != nil {
			return err
		}
		if err := b.Declare(ctx, "totals", syncmgr.DictTypeID[string, int](), nil); err != nil {
			return err
		}
		return b.Declare(ctx, "lock", syncmgr.LockTypeID, nil)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		return 1
	}
	return 0
}
