// Command mgrctl looks inside a running mgr manager and operates it: its sessions, its
// objects, who holds what and who waits, dynamic calls by name, shutdown.
//
// Usage:
//
//	mgrctl [flags] info [-type T] [-session S]   sessions, objects, references, holders, state
//	mgrctl [flags] watch [-n N] [-interval D] [-type T] [-session S]
//	                                             info again every interval, like top (N times; 0: until interrupted)
//	mgrctl [flags] call OBJECT METHOD [ARG...]   call an exposed method by name
//	mgrctl [flags] shutdown                      shut the manager down
//	mgrctl [flags] token                         print the live page's access token
//
// The manager is named by MGR_ADDRESS (unix:/path or tcp:host:port) and MGR_AUTHKEY
// (hex), as mgr.ConnectFromEnv reads them, or by the flags -addr and -authkey-file (a
// file holding the key in hex; the key is never taken on the command line, which other
// users can read).
//
// Flags before the command:
//
//	-addr ADDRESS        the manager's address (default $MGR_ADDRESS)
//	-authkey-file FILE   a file holding the authkey in hex (default: $MGR_AUTHKEY)
//	-json                one JSON document (watch: one per refresh, a line each) for scripts
//	-timeout D           bound on connecting and on each request (default 10s)
//
// OBJECT is an object ID ("12" or "#12", as info lists them) or the name of a named
// object. Each ARG is read as JSON of the parameter's type (3, true, [1,2], {"a":1}); a
// string parameter also takes bare text. Supported are the basic types, []byte,
// time.Duration ("1.5s"), time.Time (RFC 3339) and slices and maps of those, and the type
// parameters of generic SyncManager types (a Queue[int]'s Put takes an int); proxies and
// structs are not (see mgr.Client.CallText). Results are printed one per line, as JSON.
//
// Any failure — a manager that does not answer, an unknown object or method, an argument
// of the wrong type — prints one line on stderr and exits with status 1; a usage error
// exits with status 2.
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(args []string, stdout, stderr io.Writer) int {
	err := runErr(args, stdout, stderr)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "mgrctl: %s (mgrctl -h for usage)\n", ue.msg)
		return 2
	}
	fmt.Fprintf(stderr, "mgrctl: %s\n", oneLine(err.Error()))
	return 1
}

// oneLine keeps an error to one line: a remote error may carry newlines.
func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

type config struct {
	addr    string
	keyFile string
	json    bool
	timeout time.Duration
}

func runErr(args []string, stdout, stderr io.Writer) error {
	var cfg config
	fs := flag.NewFlagSet("mgrctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", os.Getenv(mgr.EnvAddress), "the manager's address: unix:/path or tcp:host:port")
	fs.StringVar(&cfg.keyFile, "authkey-file", "", "a file holding the authkey in hex (default: $"+mgr.EnvAuthKey+")")
	fs.BoolVar(&cfg.json, "json", false, "JSON output for scripts")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "bound on connecting and on each request")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mgrctl [flags] info|watch|call|shutdown|token ...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() == 0 {
		return usageError{"no command: want info, watch, call, shutdown or token"}
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	// The command is checked before the address and key, so that a typo is reported
	// as such rather than as a missing MGR_ADDRESS.
	switch cmd {
	case "token":
		if len(rest) != 0 {
			return usageError{"token takes no arguments"}
		}
		key, err := cfg.authKey() // the token needs the key only, not a manager
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, mgr.PageToken(key))
		return nil
	case "info", "watch", "call", "shutdown":
	default:
		return usageError{fmt.Sprintf("unknown command %q: want info, watch, call, shutdown or token", cmd)}
	}
	opts, err := cfg.options()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	opts.ResumeWindow = -1 // a tool's session ends with it
	c, err := mgr.Connect(cctx, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	switch cmd {
	case "info", "watch":
		return cfg.info(ctx, c, cmd == "watch", rest, stdout, stderr)
	case "call":
		return cfg.call(ctx, c, rest, stdout)
	default: // shutdown
		if len(rest) != 0 {
			return usageError{"shutdown takes no arguments"}
		}
		rctx, cancel := context.WithTimeout(ctx, cfg.timeout)
		defer cancel()
		if err := c.Shutdown(rctx); err != nil {
			return err
		}
		if !cfg.json {
			fmt.Fprintln(stdout, "the manager is shutting down")
		}
		return nil
	}
}

// options reads the manager's address and key from the flags and the environment.
func (cfg *config) options() (mgr.Options, error) {
	var opts mgr.Options
	if cfg.addr == "" {
		return opts, fmt.Errorf("no manager address: set %s or -addr (unix:/path or tcp:host:port)", mgr.EnvAddress)
	}
	if err := opts.Address.Set(cfg.addr); err != nil {
		return opts, err
	}
	key, err := cfg.authKey()
	if err != nil {
		return opts, err
	}
	opts.AuthKey = key
	return opts, nil
}

// authKey reads the authkey from -authkey-file or the environment.
func (cfg *config) authKey() ([]byte, error) {
	keyHex, from := os.Getenv(mgr.EnvAuthKey), "$"+mgr.EnvAuthKey
	if cfg.keyFile != "" {
		b, err := os.ReadFile(cfg.keyFile)
		if err != nil {
			return nil, err
		}
		keyHex, from = strings.TrimSpace(string(b)), cfg.keyFile
	}
	if keyHex == "" {
		return nil, fmt.Errorf("no authkey: set %s or -authkey-file", mgr.EnvAuthKey)
	}
	key, err := hex.DecodeString(keyHex)
	if err != nil || len(key) == 0 {
		return nil, fmt.Errorf("the authkey in %s is not hex", from)
	}
	return key, nil
}

// info prints the manager's introspection once, or every interval (watch).
func (cfg *config) info(ctx context.Context, c *mgr.Client, watch bool, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mgrctl "+map[bool]string{false: "info", true: "watch"}[watch], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f filter
	fs.StringVar(&f.typeID, "type", "", "only objects whose type contains this (Lock, syncmgr.Queue)")
	sess := fs.Uint64("session", 0, "only this session, and the objects it holds, waits for or references")
	n := fs.Int("n", 0, "watch: stop after this many refreshes (0: until interrupted)")
	interval := fs.Duration("interval", time.Second, "watch: time between refreshes")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() != 0 {
		return usageError{fmt.Sprintf("unexpected arguments %q", fs.Args())}
	}
	if !watch && (*n != 0 || *interval != time.Second) {
		return usageError{"-n and -interval are for watch"}
	}
	if *interval <= 0 {
		return usageError{"-interval must be positive"}
	}
	f.session = *sess
	for i := 0; ; i++ {
		rctx, cancel := context.WithTimeout(ctx, cfg.timeout)
		info, err := c.Info(rctx)
		cancel()
		if err != nil {
			return err
		}
		info = f.apply(info)
		switch {
		case cfg.json && watch:
			b, _ := json.Marshal(info) // one line per refresh
			fmt.Fprintf(stdout, "%s\n", b)
		case cfg.json:
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			enc.Encode(info)
		default:
			if watch && i > 0 {
				fmt.Fprint(stdout, "\x1b[H\x1b[2J") // clear, like top
			}
			if watch {
				fmt.Fprintf(stdout, "%s — %s, every %s\n\n", c.Address(), time.Now().Format("15:04:05"), *interval)
			}
			writeInfo(stdout, info, time.Now())
		}
		if !watch || (*n > 0 && i+1 >= *n) {
			return nil
		}
		select {
		case <-time.After(*interval):
		case <-ctx.Done():
			return nil // interrupted: not a failure
		}
	}
}

// filter narrows Info to a type or a session.
type filter struct {
	typeID  string
	session uint64
}

func (f filter) apply(info mgr.Info) mgr.Info {
	if f.typeID == "" && f.session == 0 {
		return info
	}
	out := mgr.Info{}
	for _, s := range info.Sessions {
		if f.session == 0 || s.ID == f.session {
			out.Sessions = append(out.Sessions, s)
		}
	}
	for _, o := range info.Objects {
		if f.typeID != "" && !strings.Contains(o.TypeID, f.typeID) {
			continue
		}
		if f.session != 0 && !involves(o, f.session) {
			continue
		}
		out.Objects = append(out.Objects, o)
	}
	return out
}

// involves reports whether session s holds a reference to o, holds it or waits for it.
func involves(o mgr.ObjectInfo, s uint64) bool {
	for _, h := range o.Holders {
		if h.Session == s {
			return true
		}
	}
	if o.State != nil {
		for _, l := range [][]mgr.StateParty{o.State.Holders, o.State.Waiters} {
			for _, p := range l {
				if p.Session == s {
					return true
				}
			}
		}
	}
	return false
}

// call runs OBJECT METHOD ARGS....
func (cfg *config) call(ctx context.Context, c *mgr.Client, args []string, stdout io.Writer) error {
	if len(args) < 2 {
		return usageError{"call needs OBJECT METHOD [ARG...]"}
	}
	rctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	id, typeID, err := resolve(rctx, c, args[0])
	if err != nil {
		return err
	}
	res, err := c.CallText(rctx, id, typeID, args[1], args[2:])
	if err != nil {
		return err
	}
	if cfg.json {
		if res == nil {
			res = []any{}
		}
		b, err := json.Marshal(res)
		if err != nil {
			return fmt.Errorf("results of %s: %w", args[1], err)
		}
		fmt.Fprintf(stdout, "%s\n", b)
		return nil
	}
	for _, r := range res {
		b, err := json.Marshal(r)
		if err != nil {
			fmt.Fprintf(stdout, "%v\n", r)
			continue
		}
		fmt.Fprintf(stdout, "%s\n", b)
	}
	return nil
}

// resolve finds an object by ID ("12", "#12") or name, and returns its ID and type.
func resolve(ctx context.Context, c *mgr.Client, obj string) (uint64, string, error) {
	info, err := c.Info(ctx)
	if err != nil {
		return 0, "", err
	}
	if id, err := strconv.ParseUint(strings.TrimPrefix(obj, "#"), 10, 64); err == nil {
		for _, o := range info.Objects {
			if o.ID == id {
				return id, o.TypeID, nil
			}
		}
		return 0, "", fmt.Errorf("the manager has no object #%d (mgrctl info lists them)", id)
	}
	for _, o := range info.Objects {
		if o.Name == obj {
			return o.ID, o.TypeID, nil
		}
	}
	return 0, "", fmt.Errorf("the manager has no object named %q (give a name or an ID; mgrctl info lists them)", obj)
}
