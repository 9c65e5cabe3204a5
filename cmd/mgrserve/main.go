// Mgrserve is a ready-made manager: it serves the SyncManager types (dict, list, Queue,
// JoinableQueue, Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier,
// Namespace, Value, Array) to Go clients and to unmodified CPython multiprocessing
// clients, from one object table.
//
// Usage:
//
//	mgrserve [-addr NETWORK:ADDRESS] [-python NETWORK:ADDRESS] [-share NAME=TYPEID,...] [-log LEVEL]
//
// The flags are:
//
//	-addr NETWORK:ADDRESS
//		Serve Go clients (mgr.Connect, syncmgr.Connect) there: tcp:127.0.0.1:50001 or
//		unix:/path/to/sock.
//	-python NETWORK:ADDRESS
//		Serve CPython clients there: SyncManager(address, authkey).connect().
//	-share NAME=TYPEID,...
//		Make shared objects both sides reach: a Python client registers get_NAME
//		(BaseManager.register('get_NAME')) and calls it; a Go client looks NAME up
//		(syncmgr.LookupQueue[any](ctx, client, "NAME"); a dict is a Dict[any, any], and
//		the Go client imports github.com/mgr-go/mgr/runtime/syncmgr/pysync so that it
//		can read what Python stored). TYPEID is a Python typeid (Queue, dict, list, ...).
//		Default: queue=Queue,dict=dict.
//	-log LEVEL
//		Log to stderr, as text, what the manager reports at LEVEL and above: debug,
//		info (sessions and connections), warn (rejected connections — a wrong key —,
//		sessions that ended with an error, abandoned locks, clients gone) or error;
//		off for nothing. Default: warn.
//
// At least one of -addr and -python is needed. The authentication key is MGR_AUTHKEY,
// in hex; when it is unset, mgrserve makes one up and prints it. mgrserve prints where
// it listens, one line per address, as soon as it accepts connections, and runs until
// it is interrupted (SIGINT, SIGTERM) or a client asks it to shut down.
//
// From Python:
//
//	from multiprocessing.managers import SyncManager
//	m = SyncManager(('127.0.0.1', 50000), authkey=bytes.fromhex(KEY)); m.connect()
//	d = m.dict(); q = m.Queue()
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mgr-go/mgr/runtime/mgr"
	_ "github.com/mgr-go/mgr/runtime/syncmgr/pysync"
)

func main() {
	os.Exit(exitCode(run(os.Args[1:])))
}

// exitCode reports err on stderr and gives the exit status: 0 for success and for -h
// (the usage, which the flag package has printed, is what was asked for), 2 otherwise.
func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	}
	fmt.Fprintln(os.Stderr, "mgrserve:", err)
	return 2
}

func run(args []string) error {
	fs := flag.NewFlagSet("mgrserve", flag.ContinueOnError)
	goAddr := fs.String("addr", "", "serve Go clients at `NETWORK:ADDRESS` (tcp:HOST:PORT or unix:/PATH)")
	pyAddr := fs.String("python", "", "serve CPython multiprocessing clients at `NETWORK:ADDRESS`")
	share := fs.String("share", "queue=Queue,dict=dict", "shared objects, `NAME=TYPEID,...`: get_NAME for Python, Lookup(NAME) for Go")
	logLevel := fs.String("log", "warn", "log to stderr at `LEVEL` and above: debug, info, warn, error or off")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *goAddr == "" && *pyAddr == "" {
		return errors.New("nothing to serve: give -addr for Go clients, -python for CPython clients, or both")
	}
	logger, err := stderrLogger(*logLevel)
	if err != nil {
		return err
	}
	key, made, err := authKey()
	if err != nil {
		return err
	}
	srv, err := mgr.NewServer(mgr.Options{AuthKey: key, Logger: logger})
	if err != nil {
		return err
	}
	if err := shareObjects(srv, *share); err != nil {
		return err
	}
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	listen := func(flagName, spec string) (net.Listener, error) {
		a, err := mgr.ParseAddress(spec)
		if err != nil {
			return nil, fmt.Errorf("-%s: %w", flagName, err)
		}
		ln, err := mgr.Listen(a, nil)
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		return ln, nil
	}
	var goLn, pyLn net.Listener
	if *goAddr != "" {
		if goLn, err = listen("addr", *goAddr); err != nil {
			return err
		}
	}
	if *pyAddr != "" {
		if pyLn, err = listen("python", *pyAddr); err != nil {
			return err
		}
	}
	if made {
		fmt.Printf("MGR_AUTHKEY=%s\n", hex.EncodeToString(key))
	}
	errc := make(chan error, 2)
	if goLn != nil {
		go func() { errc <- srv.Serve(goLn) }()
		fmt.Printf("mgrserve: Go clients: %s\n", mgr.ListenerAddress(goLn))
	}
	if pyLn != nil {
		go func() { errc <- srv.ServePython(pyLn) }()
		a := mgr.ListenerAddress(pyLn)
		fmt.Printf("mgrserve: Python clients: %s (SyncManager(%s, authkey=bytes.fromhex(MGR_AUTHKEY)))\n", a, mgr.PythonAddress(a))
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case <-sig:
	case <-srv.Done():
		return nil
	case err := <-errc:
		if err != nil {
			srv.Shutdown(context.Background())
			return err
		}
	}
	return srv.Shutdown(context.Background())
}

// stderrLogger is the -log flag's logger: text on stderr at level and above, or nil for
// "off".
func stderrLogger(level string) (*slog.Logger, error) {
	if level == "off" {
		return nil, nil
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log %q: want debug, info, warn, error or off", level)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

// authKey reads MGR_AUTHKEY, or makes a key up (made is then true).
func authKey() (key []byte, made bool, err error) {
	if s, ok := os.LookupEnv("MGR_AUTHKEY"); ok {
		key, err := hex.DecodeString(strings.TrimSpace(s))
		if err != nil || len(key) == 0 {
			return nil, false, fmt.Errorf("MGR_AUTHKEY must be a non-empty hex string (%v)", err)
		}
		return key, false, nil
	}
	key = make([]byte, 32)
	rand.Read(key)
	return key, true, nil
}

// shareObjects makes the -share objects.
func shareObjects(srv *mgr.Server, spec string) error {
	if spec == "" {
		return nil
	}
	for _, part := range strings.Split(spec, ",") {
		name, typeID, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || name == "" || typeID == "" {
			return fmt.Errorf("-share: %q is not NAME=TYPEID", part)
		}
		face := mgr.LookupPython(typeID)
		if face == nil || face.New == nil {
			return fmt.Errorf("-share %s: no Python typeid %q (dict, list, Queue, JoinableQueue, Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier, Namespace, Value, Array)", part, typeID)
		}
		v, err := face.New(context.Background(), nil, nil)
		if err != nil {
			return fmt.Errorf("-share %s: %w", part, err)
		}
		if err := srv.AddNamed(name, face.GoTypeID, v); err != nil {
			return fmt.Errorf("-share %s: %w", part, err)
		}
		if err := srv.SharePython("get_"+name, name, face); err != nil {
			return fmt.Errorf("-share %s: %w", part, err)
		}
	}
	return nil
}
