package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/shm"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// The shared-memory rows: 64 MiB handed from this process to a consumer peer process,
// timed from "the bytes are in a []byte here" to "the consumer has read them and said
// so". The consumer reads one byte of every 4 KiB page (touching every page, as any use
// of the data would) and answers their sum, which is checked. Three ways, interleaved
// (one of each per round, the median of each reported):
//
//   - shm.handoff: a fresh shm block per hand-off — create it, map it, copy the bytes
//     in, send its token; the consumer attaches, maps, reads, unmaps and releases; the
//     producer releases it after the answer. Everything a one-off hand-off pays, but
//     for what the manager does after the release: a pooled memfd is cleared then
//     (runtime/shm's pool), before a later Create may take it. The harness waits for
//     that after the clock (settle), so that it lands on no way's clock: it overlapped
//     the next way before, the []byte call's every third round.
//   - shm.handoff.reuse: one block mapped by both once; per hand-off the producer copies
//     the bytes in and says so, the consumer reads them.
//   - shm.bytes: the bytes as a []byte call: Queue[[]byte].Put here, Get there.
//
// Both sides count the same things: not making the data (src, filled before the clock);
// the buffers that carry it (the block and both mappings; the manager's and the
// consumer's fresh []byte); the sending; the consumer touching every page; the releases.
//
// CPython's figure (cpython_bench.py) is the first way with SharedMemoryManager.

const shmSize = 64 << 20

func init() { roles["shmconsumer"] = roleShmConsumer }

type shmCfg struct {
	clientCfg
	Work, Data, Ack mgr.Token // Queue[string], Queue[[]byte], Queue[int]
}

// shmTouch sums one byte per 4 KiB page of b.
func shmTouch(b []byte) int {
	sum := 0
	for i := 0; i < len(b); i += 4096 {
		sum += int(b[i])
	}
	return sum
}

func roleShmConsumer(raw json.RawMessage, in *bufio.Reader, out *json.Encoder) error {
	var cfg shmCfg
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return err
	}
	ctx := context.Background()
	addr, err := mgr.ParseAddress(cfg.Addr)
	if err != nil {
		return err
	}
	c, err := mgr.Connect(ctx, mgr.Options{Address: addr, AuthKey: cfg.Key, MaxFrame: 1 << 30})
	if err != nil {
		return err
	}
	defer c.Close()
	work, err := syncmgr.AttachQueue[string](ctx, c, cfg.Work)
	if err != nil {
		return err
	}
	data, err := syncmgr.AttachQueue[[]byte](ctx, c, cfg.Data)
	if err != nil {
		return err
	}
	ack, err := syncmgr.AttachQueue[int](ctx, c, cfg.Ack)
	if err != nil {
		return err
	}
	go func() { waitEOF(in); c.Close() }()
	if err := ready(out); err != nil {
		return err
	}
	var kept *shm.Mapping // the reused block's mapping
	for {
		msg, err := work.Get(ctx)
		if err != nil {
			return nil // the parent is done: its manager is gone
		}
		sum := 0
		switch {
		case msg == "bytes":
			b, err := data.Get(ctx)
			if err != nil {
				return err
			}
			sum = shmTouch(b)
		case msg == "touch":
			sum = shmTouch(kept.Bytes())
		default:
			kind, tok, _ := strings.Cut(msg, " ")
			t, err := mgr.ParseToken(tok)
			if err != nil {
				return err
			}
			blk, err := shm.AttachBlock(ctx, c, t)
			if err != nil {
				return err
			}
			mp, err := shm.Open(ctx, blk)
			if err != nil {
				return err
			}
			if kind == "keep" {
				kept = mp
				break
			}
			sum = shmTouch(mp.Bytes())
			mp.Close()
			if err := blk.Close(ctx); err != nil {
				return err
			}
		}
		if err := ack.Put(ctx, sum); err != nil {
			return err
		}
	}
}

func runShm(ctx context.Context, cfg *Config, r *Report) error {
	keys := []struct{ key, label string }{
		{"shm.handoff", "64 MiB to another process through a fresh shm block (create, copy in, hand over, read, release)"},
		{"shm.handoff.reuse", "64 MiB to another process through one shm block mapped by both (copy in, say so, read)"},
		{"shm.bytes", "64 MiB to another process as a []byte call (Queue[[]byte] Put → Get)"},
	}
	m, err := mgr.Start(ctx, mgr.Options{MaxFrame: 1 << 30})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.Shutdown(sctx)
	}()
	c := m.Client()
	work, err := syncmgr.CreateQueue[string](ctx, c, 0)
	if err != nil {
		return err
	}
	data, err := syncmgr.CreateQueue[[]byte](ctx, c, 0)
	if err != nil {
		return err
	}
	ack, err := syncmgr.CreateQueue[int](ctx, c, 0)
	if err != nil {
		return err
	}
	// A first call binds the proxy's type with a small control call; made inside a
	// 64 MiB call it would wait for room the big call itself holds (the client's
	// admission, client_admit.go) and never run. So bind data's type with a small call.
	if err := data.Put(ctx, []byte{1}); err != nil {
		return err
	}
	if _, err := data.Get(ctx); err != nil {
		return err
	}
	var toks [3]mgr.Token
	for i, p := range []interface {
		Token(context.Context) (mgr.Token, error)
	}{work, data, ack} {
		if toks[i], err = p.Token(ctx); err != nil {
			return err
		}
	}
	consumer, err := startPeer("shmconsumer", shmCfg{
		clientCfg: clientCfg{Addr: m.Address().String(), Key: m.AuthKey()},
		Work:      toks[0], Data: toks[1], Ack: toks[2],
	})
	if err != nil {
		return err
	}
	defer consumer.stop()

	src := make([]byte, shmSize)
	for i := range src {
		src[i] = byte(i * 7)
	}
	want := shmTouch(src)
	answer := func() error {
		// The consumer answers within seconds; a generous bound turns a dead one into an
		// error instead of a hang.
		actx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		got, err := ack.Get(actx)
		if err == nil && got != want {
			err = fmt.Errorf("the consumer read %d, want %d", got, want)
		}
		return err
	}
	say := func(msg string) error {
		if err := work.Put(ctx, msg); err != nil {
			return err
		}
		return answer()
	}

	// The reused block, mapped by both once.
	kept, err := shm.CreateBlock(ctx, c, shmSize)
	if err != nil {
		return err
	}
	defer kept.Close(ctx)
	keptMap, err := shm.Open(ctx, kept)
	if err != nil {
		return err
	}
	defer keptMap.Close()
	tok, err := kept.Token(ctx)
	if err != nil {
		return err
	}
	if err := work.Put(ctx, "keep "+tok.String()); err != nil {
		return err
	}
	if _, err := ack.Get(ctx); err != nil {
		return err
	}

	// released names what the manager does after the last fresh block's release — clear
	// its memfd into the pool, or close it — and settle waits for that off the clock, so
	// that it runs during no way's timing: that manager CPU (on a 2-core machine it took
	// a core from the next way, the []byte call every third round) is reported apart.
	var released struct {
		path, link string
	}
	settle := func() error {
		if released.path == "" {
			return nil
		}
		defer func() { released.path = "" }()
		deadline := time.Now().Add(time.Minute)
		for {
			// Cleared and pooled, the memfd moves to another descriptor; closed, it
			// goes: either way the block's descriptor no longer names it.
			if l, _ := os.Readlink(released.path); l != released.link {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the manager still holds the released block's memfd at %s after a minute", released.path)
			}
			time.Sleep(200 * time.Microsecond) // another process's state: no event to wait on
		}
	}

	ways := []func() error{
		func() error { // a fresh block
			blk, err := shm.CreateBlock(ctx, c, shmSize)
			if err != nil {
				return err
			}
			defer blk.Close(ctx)
			mp, err := shm.Open(ctx, blk)
			if err != nil {
				return err
			}
			d, err := blk.Desc(ctx) // for settle
			if err != nil {
				return err
			}
			released.path = fmt.Sprintf("/proc/%d/fd/%d", d.PID, d.FD)
			released.link, _ = os.Readlink(released.path)
			copy(mp.Bytes(), src)
			mp.Close()
			tok, err := blk.Token(ctx)
			if err != nil {
				return err
			}
			if err := say("once " + tok.String()); err != nil {
				return err
			}
			return blk.Close(ctx)
		},
		func() error { // the reused block
			copy(keptMap.Bytes(), src)
			return say("touch")
		},
		func() error { // a []byte call
			if err := data.Put(ctx, src); err != nil {
				return err
			}
			return say("bytes")
		},
	}
	times := make([][]time.Duration, len(ways))
	rounds := pick(cfg, 4, 12)
	for round := -1; round < rounds; round++ { // round -1 warms up
		for k := range ways {
			i := (round + 1 + k) % len(ways)
			t0 := time.Now()
			if err := ways[i](); err != nil {
				return fmt.Errorf("%s: %w", keys[i].key, err)
			}
			if round >= 0 {
				times[i] = append(times[i], time.Since(t0))
			}
			if err := settle(); err != nil {
				return fmt.Errorf("%s: %w", keys[i].key, err)
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	anchors := [][]string{{"shm.bytes", "py.shm.handoff"}, {"shm.bytes", "py.shm.handoff"}, nil}
	for i, k := range keys {
		slices.Sort(times[i])
		med := times[i][len(times[i])/2]
		r.set("shm", k.key, k.label, shmSize/float64(1<<20)/med.Seconds(), "MiB/s", anchors[i]...)
		r.set("shm", k.key+".ms", k.label+": median time", float64(med.Microseconds())/1e3, "ms")
	}
	return nil
}
