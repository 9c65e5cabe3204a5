// Pyinterop serves Go types to unmodified CPython BaseManager clients: seed 002's
// Counter as typeid Counter (increment, decrement, get_value) and seed 004's one shared
// Pair(5, 6) as typeid get_pair with only get_x exposed.
//
//	MGR_AUTHKEY=$(openssl rand -hex 16) go run ./examples/pyinterop -python tcp:127.0.0.1:50000
//
// and in Python:
//
//	from multiprocessing.managers import BaseManager
//	class M(BaseManager): pass
//	M.register('Counter'); M.register('get_pair')
//	m = M(('127.0.0.1', 50000), authkey=bytes.fromhex(KEY)); m.connect()
//	c = m.Counter(); c.increment(); print(c.get_value(), m.get_pair().get_x())
//
// or, with the typed module mgrgen writes beside mgr_gen.go (mgr_gen.py: the manager
// class and proxy classes with type hints, no register calls):
//
//	from mgr_gen import PyinteropManager
//	m = PyinteropManager(('127.0.0.1', 50000), authkey=bytes.fromhex(KEY)); m.connect()
//	c = m.Counter(); c.add(41); print(c.get_value())
//
// The types say so in their annotations (//mgr:expose python=Counter, see types.go):
// mgrgen registers them for CPython clients, with the Go methods' snake_case names
// (pyname= overrides one); arguments are converted to the Go parameter types, and a
// value of the wrong type is a TypeError in Python, with nothing changed.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mgr-go/mgr/runtime/mgr"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "pyinterop:", err)
		os.Exit(1)
	}
}

func run() error {
	pyAddr := flag.String("python", "", "serve CPython clients at `NETWORK:ADDRESS` (tcp:HOST:PORT or unix:/PATH)")
	flag.Parse()
	if *pyAddr == "" {
		return errors.New("-python NETWORK:ADDRESS is required")
	}
	addr, err := mgr.ParseAddress(*pyAddr)
	if err != nil {
		return err
	}
	key, err := hex.DecodeString(os.Getenv("MGR_AUTHKEY"))
	if err != nil || len(key) == 0 {
		return errors.New("MGR_AUTHKEY must hold the key, in hex")
	}

	srv, err := mgr.NewServer(mgr.Options{AuthKey: key})
	if err != nil {
		return err
	}
	if err := srv.AddNamed("pair", PairTypeID, &Pair{X: 5, Y: 6}); err != nil {
		return err
	}
	// Python's create("get_pair") gives this Pair (register('get_pair', callable=lambda: pair)).
	if err := srv.SharePython("get_pair", "pair", nil); err != nil {
		return err
	}

	ln, err := mgr.Listen(addr, nil)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServePython(ln) }()
	fmt.Printf("pyinterop: serving Counter and get_pair to CPython clients on %s\n", mgr.ListenerAddress(ln))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case <-sig:
	case <-srv.Done():
		return nil
	case err := <-errc:
		if err != nil {
			return err
		}
	}
	return srv.Shutdown(context.Background())
}
