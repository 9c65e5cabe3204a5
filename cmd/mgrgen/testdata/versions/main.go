// The part of TestVersions' two programs that both versions share, copied beside each
// version's counter.go: "prog serve unix:/path" runs a standalone manager until
// SIGTERM, "prog call unix:/path" connects to one and runs the version's calls, which
// print one line each. The authkey comes from MGR_AUTHKEY (hex).
package main

//go:generate go tool mgrgen

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mgr-go/mgr/runtime/mgr"
)

func main() {
	if len(os.Args) != 3 {
		fail(errors.New("usage: prog serve|call network:address"))
	}
	var opts mgr.Options
	if err := opts.Address.Set(os.Args[2]); err != nil {
		fail(err)
	}
	if err := mgr.HexKey(&opts.AuthKey).Set(os.Getenv(mgr.EnvAuthKey)); err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch os.Args[1] {
	case "serve":
		opts.Logf = func(format string, args ...any) { fmt.Printf(format+"\n", args...) }
		if err := mgr.ServeForever(ctx, opts); err != nil {
			fail(err)
		}
		fmt.Println("stopped")
	case "call":
		c, err := mgr.Connect(ctx, opts)
		if err != nil {
			fail(err)
		}
		defer c.Close()
		if err := calls(ctx, c); err != nil {
			fail(err)
		}
	default:
		fail(fmt.Errorf("unknown mode %q", os.Args[1]))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// count creates a Counter and calls the methods both versions have, in the same way:
// Increment three times, then Value.
func count(ctx context.Context, c *mgr.Client) (*CounterProxy, error) {
	p, err := CreateCounter(ctx, c)
	if err != nil {
		return nil, err
	}
	for range 3 {
		n, err := p.Increment(ctx)
		report("Increment", n, err)
	}
	n, err := p.Value(ctx)
	report("Value", n, err)
	return p, nil
}

// report prints one call's outcome: "what: ok RESULT", or the error's class and message.
func report(what string, result any, err error) {
	switch {
	case err == nil:
		fmt.Printf("%s: ok %v\n", what, result)
	case errors.Is(err, mgr.ErrUnknownMethod):
		fmt.Printf("%s: ErrUnknownMethod: %v\n", what, err)
	case errors.Is(err, mgr.ErrSignature):
		fmt.Printf("%s: ErrSignature: %v\n", what, err)
	default:
		fmt.Printf("%s: error: %v\n", what, err)
	}
}

// dynamic calls method of proxy p by name (ProxyBase.BeginMethod), with the arguments enc
// writes, and decodes its result with dec (nil: no result).
func dynamic(ctx context.Context, p interface {
	BeginMethod(string) (*mgr.Call, error)
}, method string, enc func(*mgr.Encoder), dec func(*mgr.Decoder) any) (any, error) {
	c, err := p.BeginMethod(method)
	if err != nil {
		return nil, err
	}
	if enc != nil {
		enc(&c.Args)
	}
	res, err := c.Do(ctx)
	if err != nil {
		return nil, err
	}
	var v any
	if dec != nil {
		v = dec(res)
	}
	return v, c.End()
}
