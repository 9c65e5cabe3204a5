// Package pyclient is a Go client for CPython multiprocessing managers: a BaseManager or
// SyncManager serving with get_server().serve_forever() or started with m.start(). It
// speaks CPython's wire (runtime/pyproto/wire: frames and the mutual HMAC challenge)
// with pickled messages (runtime/pyproto/pickle), creates shared objects by typeid,
// calls their methods with Go values and releases them.
//
// Connections follow CPython's protocol: each control call (create, incref, decref,
// number_of_objects, …) goes on a fresh authenticated connection, because a CPython
// server answers one control request per connection; method calls go on persistent
// connections (accept_connection), one call at a time each, kept in a pool so that
// concurrent goroutines each get their own and sequential calls reuse one.
//
// References: Create returns a proxy holding the one reference the server's create
// made (CPython's client increfs then drops the temporary one; adopting it saves two
// connections); a method whose result the server turns into a new shared object
// ('#PROXY', e.g. dict.__iter__) likewise returns a *Proxy owning that reference.
// Release drops it. Proxies that arrive inside values (a proxy stored in a dict) are
// *pickle.Proxy values; Attach takes a reference and returns a *Proxy.
//
// Cancelling a call's ctx (or its deadline) returns at once and abandons the
// connection, but CPython has no cancellation: the method still runs to its end in the
// manager — a blocked Queue.get abandoned this way still takes the next item. Bound
// blocking methods with their own timeout arguments (get(True, 0.5)) where that matters.
//
// Values map as runtime/pyproto/pickle documents; a *Proxy passed as an argument is
// sent as CPython's RebuildProxy, so the server stores its referent's proxy (as a Python
// client passing a proxy would).
package pyclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
	"github.com/mgr-go/mgr/runtime/pyproto/wire"
)

// Options configure a Client. The zero value is usable.
type Options struct {
	// Name is sent with accept_connection (CPython sends its process name).
	Name string
	// MaxIdle bounds the persistent connections kept between calls (default 4).
	MaxIdle int
	// MaxFrame bounds a reply's size (default wire.DefaultMaxFrame).
	MaxFrame int
	// Limits bound decoding replies (default pickle.DefaultLimits).
	Limits pickle.Limits
	// Challenge is the form of the challenge the client delivers; wire.Modern (the
	// default) is answered by every CPython version.
	Challenge wire.Form
}

// Client is a connection to one CPython manager. It is safe for concurrent use.
type Client struct {
	network, address string
	key              []byte
	opts             Options
	// tokenAddr is the manager's address as Python writes it in tokens: a (host, port)
	// tuple for TCP, the path for a Unix socket.
	tokenAddr any

	mu     sync.Mutex
	idle   []*conn
	live   map[*Proxy]struct{}
	closed bool
}

// Dial connects to the manager at address (network "tcp" as host:port, or "unix" as a
// path) with authkey, and checks it answers (CPython's connect() sends 'dummy'). Tokens
// this client makes carry address as given: use the address the server listens on
// (the host it bound, not another name for it), as CPython's clients must, so that the
// server recognizes proxies passed back to it as its own.
func Dial(ctx context.Context, network, address string, authkey []byte, opts *Options) (*Client, error) {
	c := &Client{network: network, address: address, key: append([]byte(nil), authkey...), live: map[*Proxy]struct{}{}}
	if opts != nil {
		c.opts = *opts
	}
	if c.opts.MaxIdle <= 0 {
		c.opts.MaxIdle = 4
	}
	if c.opts.Name == "" {
		c.opts.Name = "GoClient"
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
		host, port, err := net.SplitHostPort(address)
		if err != nil {
			return nil, fmt.Errorf("pyclient: %w", err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("pyclient: port %q: %w", port, err)
		}
		c.tokenAddr = pickle.MustTuple(host, p)
	case "unix":
		c.tokenAddr = address
	default:
		return nil, fmt.Errorf("pyclient: network %q (tcp or unix)", network)
	}
	if _, err := c.control(ctx, "dummy"); err != nil {
		return nil, err
	}
	return c, nil
}

// conn is one authenticated connection.
type conn struct {
	nc       net.Conn
	w        *wire.Conn
	deadline time.Time // the one last set on nc
	spent    bool      // a cancellation touched it: close, never reuse
}

func (c *Client) dial(ctx context.Context) (*conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, c.network, c.address)
	if err != nil {
		return nil, fmt.Errorf("pyclient: %w", err)
	}
	// Go sets TCP_NODELAY by default: no Nagle stall after the handshake (a CPython
	// client waits ~40 ms per connection over TCP for the server's delayed ACK).
	cn := &conn{nc: nc, w: wire.NewConn(nc, c.opts.MaxFrame)}
	err = c.withCtx(ctx, cn, func() error { return wire.ClientHandshake(cn.w, c.key, c.opts.Challenge) })
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("pyclient: %s %s: %w", c.network, c.address, err)
	}
	return cn, nil
}

// withCtx runs f, which does I/O on cn, bounded by ctx: its deadline becomes the
// connection's, and cancelling it unblocks f (the connection is then unusable).
func (c *Client) withCtx(ctx context.Context, cn *conn, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dl, _ := ctx.Deadline()
	if dl != cn.deadline {
		cn.nc.SetDeadline(dl)
		cn.deadline = dl
	}
	if ctx.Done() == nil {
		// context.Background and the like: nothing can cancel f.
		return f()
	}
	stop := context.AfterFunc(ctx, func() { cn.nc.SetDeadline(time.Unix(1, 0)) })
	err := f()
	if !stop() {
		// The AfterFunc ran or is running: its deadline may land at any moment, so
		// the connection is not reused even if f got its reply in time.
		cn.spent = true
	}
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		// The connection's deadline (the ctx's) can fire before ctx notices.
		if !dl.IsZero() && !time.Now().Before(dl) {
			return context.DeadlineExceeded
		}
	}
	return err
}

// request encodes (ident, name, args, kwds).
func request(ident any, name string, args []any, kwds map[string]any) ([]byte, error) {
	var kw any = pickle.NewDict()
	if len(kwds) > 0 {
		kw = kwds
	}
	return pickle.Encode(pickle.TupleOf{ident, name, pickle.TupleOf(args), kw})
}

// roundTrip sends one request and reads one reply on cn.
func (c *Client) roundTrip(ctx context.Context, cn *conn, req []byte) (kind string, payload any, err error) {
	err = c.withCtx(ctx, cn, func() error {
		if err := cn.w.WriteFrame(req); err != nil {
			return err
		}
		p, err := cn.w.ReadFrame()
		if err != nil {
			return err
		}
		v, err := pickle.Options{Limits: c.opts.Limits}.Decode(p)
		if err != nil {
			return fmt.Errorf("%w: reply: %v", ErrProtocol, err)
		}
		t, ok := v.(pickle.Tuple)
		if !ok || t.Len() != 2 {
			return fmt.Errorf("%w: reply is %T, want (kind, value)", ErrProtocol, v)
		}
		e, err := t.Elems()
		if err != nil {
			return err
		}
		k, ok := e[0].(string)
		if !ok {
			return fmt.Errorf("%w: reply kind is %T", ErrProtocol, e[0])
		}
		kind, payload = k, e[1]
		return nil
	})
	return kind, payload, err
}

// result turns a reply into a value or error. '#PROXY' gives a *Proxy.
func (c *Client) result(kind string, payload any) (any, error) {
	switch kind {
	case "#RETURN":
		return payload, nil
	case "#ERROR":
		switch x := payload.(type) {
		case *pickle.Exception:
			return nil, &PythonError{Exc: x}
		case pickle.Opaque:
			// An exception of a class outside pickle's allow-list (the program's own)
			// arrives opaque: its class and args are still readable.
			if mod, name := x.Global(); mod != "" {
				args, _ := x.Args()
				return nil, &PythonError{Exc: &pickle.Exception{Module: mod, Name: name, Args: args}, Opaque: x}
			}
		}
		return nil, &RemoteError{Kind: "#ERROR", Traceback: fmt.Sprint(payload)}
	case "#TRACEBACK", "#UNSERIALIZABLE":
		s, _ := payload.(string)
		return nil, &RemoteError{Kind: kind, Traceback: s}
	case "#PROXY":
		t, ok := payload.(pickle.Tuple)
		if !ok || t.Len() != 2 {
			return nil, fmt.Errorf("%w: #PROXY payload %T", ErrProtocol, payload)
		}
		e, err := t.Elems()
		if err != nil {
			return nil, err
		}
		tok, ok := e[1].(pickle.Token)
		if !ok {
			return nil, fmt.Errorf("%w: #PROXY token %T", ErrProtocol, e[1])
		}
		return c.adopt(tok, stringsOf(e[0])), nil
	}
	return nil, fmt.Errorf("%w: reply kind %q", ErrProtocol, kind)
}

func stringsOf(v any) []string {
	var elems []any
	switch x := v.(type) {
	case pickle.Tuple:
		elems, _ = x.Elems()
	case []any:
		elems = x
	}
	out := make([]string, 0, len(elems))
	for _, e := range elems {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// control sends one control request on a fresh connection, as CPython's server wants.
func (c *Client) control(ctx context.Context, name string, args ...any) (any, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	req, err := request(nil, name, args, nil)
	if err != nil {
		return nil, fmt.Errorf("pyclient: %s: %w", name, err)
	}
	cn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer cn.nc.Close()
	kind, payload, err := c.roundTrip(ctx, cn, req)
	if err != nil {
		return nil, fmt.Errorf("pyclient: %s: %w", name, err)
	}
	return c.result(kind, payload)
}

// call runs a method on a persistent connection from the pool.
func (c *Client) call(ctx context.Context, ident, method string, args []any, kwds map[string]any) (any, error) {
	req, err := request(ident, method, args, kwds)
	if err != nil {
		return nil, fmt.Errorf("pyclient: %s: %w", method, err)
	}
	cn, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	kind, payload, err := c.roundTrip(ctx, cn, req)
	if err != nil {
		// The connection may hold a late reply or be broken: never reuse it.
		cn.nc.Close()
		return nil, fmt.Errorf("pyclient: %s: %w", method, err)
	}
	c.put(cn)
	return c.result(kind, payload)
}

// get takes an idle persistent connection or opens one (accept_connection).
func (c *Client) get(ctx context.Context) (*conn, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if n := len(c.idle); n > 0 {
		cn := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return cn, nil
	}
	c.mu.Unlock()
	cn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	req, _ := request(nil, "accept_connection", []any{c.opts.Name}, nil)
	kind, payload, err := c.roundTrip(ctx, cn, req)
	if err == nil {
		_, err = c.result(kind, payload)
	}
	if err != nil {
		cn.nc.Close()
		return nil, fmt.Errorf("pyclient: accept_connection: %w", err)
	}
	return cn, nil
}

func (c *Client) put(cn *conn) {
	c.mu.Lock()
	if !c.closed && !cn.spent && len(c.idle) < c.opts.MaxIdle {
		c.idle = append(c.idle, cn)
		cn = nil
	}
	c.mu.Unlock()
	if cn != nil {
		cn.nc.Close()
	}
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Create makes a shared object of typeid with args (the typeid's callable's
// arguments), as manager.<typeid>(*args) does, and returns its proxy.
func (c *Client) Create(ctx context.Context, typeid string, args ...any) (*Proxy, error) {
	return c.CreateKw(ctx, typeid, args, nil)
}

// CreateKw is Create with keyword arguments (Namespace(x=1)).
func (c *Client) CreateKw(ctx context.Context, typeid string, args []any, kwds map[string]any) (*Proxy, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	req, err := request(nil, "create", append([]any{typeid}, args...), kwds)
	if err != nil {
		return nil, fmt.Errorf("pyclient: create %s: %w", typeid, err)
	}
	cn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer cn.nc.Close()
	kind, payload, err := c.roundTrip(ctx, cn, req)
	if err != nil {
		return nil, fmt.Errorf("pyclient: create %s: %w", typeid, err)
	}
	v, err := c.result(kind, payload)
	if err != nil {
		return nil, err
	}
	t, ok := v.(pickle.Tuple)
	if !ok || t.Len() != 2 {
		return nil, fmt.Errorf("%w: create reply %T, want (ident, exposed)", ErrProtocol, v)
	}
	e, err := t.Elems()
	if err != nil {
		return nil, err
	}
	id, ok := e[0].(string)
	if !ok {
		return nil, fmt.Errorf("%w: create ident %T", ErrProtocol, e[0])
	}
	return c.adopt(pickle.Token{TypeID: typeid, Address: c.tokenAddr, ID: id}, stringsOf(e[1])), nil
}

// Attach takes a new reference to the object of a proxy that arrived inside a value
// (incref) and returns a proxy owning it. If exposed is empty it is asked of the
// server (get_methods) unless the pickled proxy carried it.
func (c *Client) Attach(ctx context.Context, p *pickle.Proxy) (*Proxy, error) {
	if _, err := c.control(ctx, "incref", p.Token.ID); err != nil {
		return nil, err
	}
	exposed := p.Exposed()
	if len(exposed) == 0 {
		v, err := c.control(ctx, "get_methods", p.Token)
		if err == nil {
			exposed = stringsOf(v)
		}
	}
	return c.adopt(p.Token, exposed), nil
}

func (c *Client) adopt(tok pickle.Token, exposed []string) *Proxy {
	p := &Proxy{c: c, token: tok, exposed: exposed}
	c.mu.Lock()
	c.live[p] = struct{}{}
	c.mu.Unlock()
	return p
}

// NumberOfObjects returns how many objects the manager holds (number_of_objects).
func (c *Client) NumberOfObjects(ctx context.Context) (int, error) {
	v, err := c.control(ctx, "number_of_objects")
	if err != nil {
		return 0, err
	}
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("%w: number_of_objects gave %T", ErrProtocol, v)
	}
	return int(n), nil
}

// DebugInfo returns the manager's table of objects and reference counts (debug_info).
func (c *Client) DebugInfo(ctx context.Context) (string, error) {
	v, err := c.control(ctx, "debug_info")
	if err != nil {
		return "", err
	}
	s, _ := v.(string)
	return s, nil
}

// Shutdown asks the manager to stop (its process exits), then closes the client.
func (c *Client) Shutdown(ctx context.Context) error {
	_, err := c.control(ctx, "shutdown")
	c.closeConns()
	return err
}

// Close releases every proxy still held (best effort, bounded by a few seconds) and
// closes the pooled connections. It does not stop the manager.
func (c *Client) Close() error {
	c.mu.Lock()
	live := make([]*Proxy, 0, len(c.live))
	for p := range c.live {
		live = append(live, p)
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, p := range live {
		if err := p.Release(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	c.closeConns()
	return errors.Join(errs...)
}

func (c *Client) closeConns() {
	c.mu.Lock()
	c.closed = true
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()
	for _, cn := range idle {
		cn.nc.Close()
	}
}
