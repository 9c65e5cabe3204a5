package bench

import (
	"bufio"
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

// startFloor starts the ping-pong peer and returns one round trip as an operation.
func startFloor() (op func() error, stop func(), err error) {
	path, cleanup, err := tempSock("pp.sock")
	if err != nil {
		return nil, nil, err
	}
	p, err := startPeer("pingpong", sockCfg{Path: path})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	conn, err := net.Dial("unix", path)
	if err != nil {
		p.stop()
		cleanup()
		return nil, nil, err
	}
	var msg, got [floorMsg]byte
	copy(msg[:], "ping-pong-16byte")
	op = func() error {
		if _, err := conn.Write(msg[:]); err != nil {
			return err
		}
		_, err := io.ReadFull(conn, got[:])
		return err
	}
	return op, func() { conn.Close(); p.stop(); cleanup() }, nil
}
