package etcd_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// etcdCluster is an embedded etcd of one or more members, on free loopback ports, in
// temporary directories.
type etcdCluster struct {
	t         testing.TB
	members   []*embed.Etcd
	cfgs      []*embed.Config
	endpoints []string
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startEtcd starts an n-member embedded etcd and stops it when the test ends.
func startEtcd(t testing.TB, n int) *etcdCluster {
	t.Helper()
	type ports struct{ client, peer int }
	ps := make([]ports, n)
	var initial []string
	for i := range ps {
		ps[i] = ports{freePort(t), freePort(t)}
		initial = append(initial, fmt.Sprintf("m%d=http://127.0.0.1:%d", i, ps[i].peer))
	}
	c := &etcdCluster{t: t}
	for i := range ps {
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i)
		cfg.Dir = t.TempDir()
		cu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", ps[i].client))
		pu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", ps[i].peer))
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
		cfg.InitialCluster = strings.Join(initial, ",")
		cfg.InitialClusterToken = "mgr-test"
		cfg.LogLevel = "error"
		cfg.UnsafeNoFsync = true // a test's data dies with it; fsync would only slow it
		e, err := embed.StartEtcd(cfg)
		if err != nil {
			c.stop()
			t.Fatalf("start embedded etcd member %d: %v", i, err)
		}
		c.members = append(c.members, e)
		c.cfgs = append(c.cfgs, cfg)
		c.endpoints = append(c.endpoints, cu.Host)
	}
	t.Cleanup(c.stop)
	for i, e := range c.members {
		select {
		case <-e.Server.ReadyNotify():
		case err := <-e.Err():
			t.Fatalf("embedded etcd member %d: %v", i, err)
		case <-time.After(60 * time.Second):
			t.Fatalf("embedded etcd member %d not ready after 60 s", i)
		}
	}
	return c
}

// kill stops member i (its endpoint stops answering).
func (c *etcdCluster) kill(i int) {
	if e := c.members[i]; e != nil {
		e.Close()
		c.members[i] = nil
	}
}

// restart starts member i again, on its data and ports, and waits until it serves.
func (c *etcdCluster) restart(i int) {
	c.t.Helper()
	e, err := embed.StartEtcd(c.cfgs[i])
	if err != nil {
		c.t.Fatalf("restart embedded etcd member %d: %v", i, err)
	}
	c.members[i] = e
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		c.t.Fatalf("embedded etcd member %d: %v", i, err)
	case <-time.After(60 * time.Second):
		c.t.Fatalf("embedded etcd member %d not ready after 60 s", i)
	}
}

func (c *etcdCluster) stop() {
	for i := range c.members {
		c.kill(i)
	}
}

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
