// Remote is seed 001's "Using a remote manager": a standalone server process owns a
// queue under a name, and separate client programs — here the same binary with another
// subcommand, but they could be any program linking the mgr runtime — connect by address
// and authkey, one putting and one getting.
//
//	export MGR_AUTHKEY=$(openssl rand -hex 32)
//	go run ./examples/remote server -addr tcp:127.0.0.1:50000 &
//	go run ./examples/remote put -addr tcp:127.0.0.1:50000 hello world
//	go run ./examples/remote get -addr tcp:127.0.0.1:50000 -n 2
//	go run ./examples/remote stop -addr tcp:127.0.0.1:50000
//
// The authkey comes from MGR_AUTHKEY (hex), not from a flag: any user on the machine can
// read a process's command line. The address may also come from MGR_ADDRESS. Plain TCP
// authenticates both ends but does not encrypt; across machines, use TLS (see the
// README).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// queueName is the name under which the server shares its queue (Python's typeid
// 'get_proxy' with callable=lambda: queue).
const queueName = "queue"

func init() {
	// The server runs this before it accepts connections.
	mgr.RegisterInitializer("remote-queue", func(s *mgr.Server) error {
		return s.AddNamed(queueName, syncmgr.QueueTypeID[string](), syncmgr.NewQueue[string](0))
	})
}

func usage() {
	fmt.Fprintf(os.Stderr, `usage: remote server|put|get|stop [-addr network:address] [args]

  server          serve a shared queue until interrupted or stopped
  put MSG...      put each MSG on the queue
  get [-n N]      get N messages (default 1), waiting for them
  stop            ask the server to shut down

The authkey is read from %s (hex); the server makes one up and prints it when unset.
-addr defaults to %s, else tcp:127.0.0.1:50000.
`, mgr.EnvAuthKey, mgr.EnvAddress)
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd := os.Args[1]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	opts := mgr.Options{Address: mgr.Address{Network: "tcp", Addr: "127.0.0.1:50000"}}
	if a := os.Getenv(mgr.EnvAddress); a != "" {
		if err := opts.Address.Set(a); err != nil {
			fail(err)
		}
	}
	fs.Var(&opts.Address, "addr", "manager address: tcp:host:port or unix:/path")
	n := fs.Int("n", 1, "get: how many messages to get")
	fs.Parse(os.Args[2:])

	if k := os.Getenv(mgr.EnvAuthKey); k != "" {
		if err := mgr.HexKey(&opts.AuthKey).Set(k); err != nil {
			fail(fmt.Errorf("%s: %w", mgr.EnvAuthKey, err))
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch cmd {
	case "server":
		err = serve(ctx, opts)
	case "put":
		err = withQueue(ctx, opts, func(q *syncmgr.QueueProxy[string]) error {
			for _, msg := range fs.Args() {
				if err := q.Put(ctx, msg); err != nil {
					return err
				}
				fmt.Printf("put %q\n", msg)
			}
			return nil
		})
	case "get":
		err = withQueue(ctx, opts, func(q *syncmgr.QueueProxy[string]) error {
			for range *n {
				msg, err := q.Get(ctx) // waits in the server until a message comes
				if err != nil {
					return err
				}
				fmt.Printf("got %q\n", msg)
			}
			return nil
		})
	case "stop":
		err = stopServer(ctx, opts)
	default:
		usage()
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "remote:", err)
	os.Exit(1)
}

// serve is Python's m.serveForever(): this process is the manager.
func serve(ctx context.Context, opts mgr.Options) error {
	if len(opts.AuthKey) == 0 {
		opts.AuthKey = make([]byte, 32)
		if _, err := rand.Read(opts.AuthKey); err != nil {
			return err
		}
		fmt.Printf("server: no %s set; clients need: export %s=%s\n", mgr.EnvAuthKey, mgr.EnvAuthKey, hex.EncodeToString(opts.AuthKey))
	}
	opts.Initializer = "remote-queue"
	// The manager's diagnostics, among them the address it listens on (useful with
	// port 0), as text records without their time.
	opts.Logger = slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	if err := mgr.ServeForever(ctx, opts); err != nil {
		return err
	}
	fmt.Println("server: stopped")
	return nil
}

// withQueue connects (Python's QueueManager.fromAddress), looks up the shared queue and
// runs fn with it.
func withQueue(ctx context.Context, opts mgr.Options, fn func(*syncmgr.QueueProxy[string]) error) error {
	if len(opts.AuthKey) == 0 {
		return fmt.Errorf("set %s to the server's authkey (hex)", mgr.EnvAuthKey)
	}
	c, err := mgr.Connect(ctx, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	q, err := syncmgr.LookupQueue[string](ctx, c, queueName)
	if err != nil {
		return err
	}
	return fn(q)
}

func stopServer(ctx context.Context, opts mgr.Options) error {
	if len(opts.AuthKey) == 0 {
		return fmt.Errorf("set %s to the server's authkey (hex)", mgr.EnvAuthKey)
	}
	c, err := mgr.Connect(ctx, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Shutdown(ctx); err != nil && !errors.Is(err, mgr.ErrShutdown) {
		return err
	}
	fmt.Println("asked the server to stop")
	return nil
}
