package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// The SyncManager rows: syncmgr's Dict[string,int] from one client, and Queue put→get
// between two peer processes (a producer and a consumer, each with its own session).

func init() {
	roles["qproducer"] = roleQueuePeer
	roles["qconsumer"] = roleQueuePeer
}

// queueCfg configures a queue peer. Kind is "int" or "bytes"; Batch > 1 uses
// PutMany/GetMany.
type queueCfg struct {
	clientCfg
	Token    mgr.Token
	Consumer bool
	Kind     string
	Items    int
	Batch    int
}

type queueResult struct{ Seconds float64 }

func roleQueuePeer(raw json.RawMessage, in *bufio.Reader, out *json.Encoder) error {
	var cfg queueCfg
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return err
	}
	ctx := context.Background()
	c, err := cfg.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	switch cfg.Kind {
	case "int":
		q, err := syncmgr.AttachQueue[int](ctx, c, cfg.Token)
		if err != nil {
			return err
		}
		return queuePeer(ctx, cfg, in, out, q, func(i int) int { return i })
	case "bytes":
		q, err := syncmgr.AttachQueue[[]byte](ctx, c, cfg.Token)
		if err != nil {
			return err
		}
		blob := make([]byte, 1024)
		return queuePeer(ctx, cfg, in, out, q, func(int) []byte { return blob })
	}
	return fmt.Errorf("queue kind %q", cfg.Kind)
}

func queuePeer[T any](ctx context.Context, cfg queueCfg, in *bufio.Reader, out *json.Encoder, q *syncmgr.QueueProxy[T], item func(int) T) error {
	if err := ready(out); err != nil {
		return err
	}
	if !waitGo(in) {
		return nil
	}
	t0 := time.Now()
	batch := max(cfg.Batch, 1)
	if cfg.Consumer {
		for got := 0; got < cfg.Items; {
			if batch == 1 {
				if _, err := q.Get(ctx); err != nil {
					return err
				}
				got++
				continue
			}
			items, err := q.GetMany(ctx, batch)
			if err != nil {
				return err
			}
			got += len(items)
		}
	} else {
		buf := make([]T, 0, batch)
		for i := range cfg.Items {
			if batch == 1 {
				if err := q.Put(ctx, item(i)); err != nil {
					return err
				}
				continue
			}
			buf = append(buf, item(i))
			if len(buf) == batch || i == cfg.Items-1 {
				if err := q.PutMany(ctx, buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	return out.Encode(queueResult{Seconds: time.Since(t0).Seconds()})
}

// queueRate runs a producer and a consumer peer over q and returns items/s as the
// consumer saw it (from "go" to its last item).
func queueRate(ctx context.Context, b *benchManager, tok func() (mgr.Token, error), kind string, items, batch int) (float64, error) {
	var ps []*peer
	defer func() { stopAll(ps) }()
	for _, consumer := range []bool{false, true} {
		t, err := tok()
		if err != nil {
			return 0, err
		}
		p, err := startPeer(map[bool]string{false: "qproducer", true: "qconsumer"}[consumer], queueCfg{
			clientCfg: b.clientCfg(), Token: t, Consumer: consumer, Kind: kind, Items: items, Batch: batch,
		})
		if err != nil {
			return 0, err
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		if err := p.goNow(); err != nil {
			return 0, err
		}
	}
	var res [2]queueResult
	for i, p := range ps {
		if err := p.result(&res[i]); err != nil {
			return 0, err
		}
	}
	return float64(items) / res[1].Seconds, nil
}

func runSyncRows(ctx context.Context, cfg *Config, r *Report) error {
	b, err := startManager(ctx)
	if err != nil {
		return err
	}
	defer b.shutdown()
	ctx0 := context.Background()

	d, err := syncmgr.CreateDict[string, int](ctx, b.c)
	if err != nil {
		return err
	}
	n := pick(cfg, 20000, 100000)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
	}
	t0 := time.Now()
	for i, k := range keys {
		if err := d.Set(ctx0, k, i); err != nil {
			return err
		}
	}
	r.set("sync", "mgr.dict.set", syncKeys[0].label, float64(n)/time.Since(t0).Seconds(), "ops/s", syncKeys[0].anchors...)
	t0 = time.Now()
	for i, k := range keys {
		v, err := d.GetItem(ctx0, k)
		if err != nil {
			return err
		}
		if v != i {
			return fmt.Errorf("dict[%s] = %d, want %d", k, v, i)
		}
	}
	r.set("sync", "mgr.dict.get", syncKeys[1].label, float64(n)/time.Since(t0).Seconds(), "ops/s", syncKeys[1].anchors...)
	d.Close(ctx)

	items := pick(cfg, 20000, 100000)
	qi, err := syncmgr.CreateQueue[int](ctx, b.c, 0)
	if err != nil {
		return err
	}
	defer qi.Close(ctx)
	tokI := func() (mgr.Token, error) { return qi.Token(ctx) }
	single, err := queueRate(ctx, b, tokI, "int", items, 1)
	if err != nil {
		return fmt.Errorf("queue single: %w", err)
	}
	r.set("sync", "mgr.queue.single", syncKeys[2].label, single, "items/s", syncKeys[2].anchors...)
	batched, err := queueRate(ctx, b, tokI, "int", items*5, 64)
	if err != nil {
		return fmt.Errorf("queue batched: %w", err)
	}
	r.set("sync", "mgr.queue.batch", syncKeys[3].label, batched, "items/s", append(syncKeys[3].anchors, "mgr.queue.single")...)

	qb, err := syncmgr.CreateQueue[[]byte](ctx, b.c, 0)
	if err != nil {
		return err
	}
	defer qb.Close(ctx)
	kib, err := queueRate(ctx, b, func() (mgr.Token, error) { return qb.Token(ctx) }, "bytes", items, 1)
	if err != nil {
		return fmt.Errorf("queue 1 KiB: %w", err)
	}
	r.set("sync", "mgr.queue.1k", syncKeys[4].label, kib, "items/s", syncKeys[4].anchors...)
	return nil
}
