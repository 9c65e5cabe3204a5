package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
)

// The floor: a 16-byte message bounced between two processes over a Unix socket, with no
// framing, no codec and no multiplexing — what any cross-process call must pay at least.

const floorMsg = 16

func init() { roles["pingpong"] = rolePingPong }

type sockCfg struct{ Path string }

// rolePingPong listens on cfg.Path and echoes 16-byte messages on one connection.
func rolePingPong(raw json.RawMessage, in *bufio.Reader, out *json.Encoder) error {
	var cfg sockCfg
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return err
	}
	ln, err := net.Listen("unix", cfg.Path)
	if err != nil {
		return err
	}
	defer ln.Close()
	go func() { waitEOF(in); os.Exit(0) }()
	if err := ready(out); err != nil {
		return err
	}
	conn, err := ln.Accept()
	if err != nil {
		return err
	}
	var buf [floorMsg]byte
	for {
		if _, err := io.ReadFull(conn, buf[:]); err != nil {
			return nil
		}
		if _, err := conn.Write(buf[:]); err != nil {
			return nil
		}
	}
}

func tempSock(name string) (string, func(), error) {
	dir, err := os.MkdirTemp("", "mgrbench-")
	if err != nil {
		return "", nil, err
	}
	return filepath.Join(dir, name), func() { os.RemoveAll(dir) }, nil
}

func runFloor(ctx context.Context, cfg *Config, r *Report) error {
	path, cleanup, err := tempSock("pp.sock")
	if err != nil {
		return err
	}
	defer cleanup()
	p, err := startPeer("pingpong", sockCfg{Path: path})
	if err != nil {
		return err
	}
	defer p.stop()
	conn, err := net.Dial("unix", path)
	if err != nil {
		return err
	}
	defer conn.Close()
	var msg, got [floorMsg]byte
	copy(msg[:], "ping-pong-16byte")
	s, err := timeSeq(pick(cfg, 2000, 5000), pick(cfg, 20000, 100000), func() error {
		if _, err := conn.Write(msg[:]); err != nil {
			return err
		}
		_, err := io.ReadFull(conn, got[:])
		return err
	})
	if err != nil {
		return err
	}
	r.set("floor", "floor.p50", "raw Unix-socket 16 B ping-pong p50", s.P50, "µs")
	r.set("floor", "floor.p99", "raw Unix-socket 16 B ping-pong p99", s.P99, "µs")
	return nil
}
