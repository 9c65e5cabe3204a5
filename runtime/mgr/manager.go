package mgr

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Manager is a running manager together with this process's session with it: what
// Start and StartInProcess return. Shutdown stops the manager (and, for a child process,
// waits for it to exit).
type Manager struct {
	addr    Address
	key     []byte
	client  *Client
	srv     *Server // in-process managers only
	child   *childProc
	cleanup func()
	drain   time.Duration // the manager's DrainTimeout
	once    sync.Once
	shut    atomic.Bool // Shutdown was called
	err     error
}

// Client returns this process's session with the manager.
func (m *Manager) Client() *Client { return m.client }

// Address returns where the manager listens.
func (m *Manager) Address() Address { return m.addr }

// AuthKey returns the manager's authkey (generated when Options.AuthKey was empty).
func (m *Manager) AuthKey() []byte { return m.key }

// Server returns the manager itself for an in-process manager, nil for a child process.
func (m *Manager) Server() *Server { return m.srv }

// PID returns the manager's process ID (this process's for an in-process manager).
func (m *Manager) PID() int {
	if m.child != nil {
		return m.child.cmd.Process.Pid
	}
	return os.Getpid()
}

// Options returns options that connect another client to this manager: its address
// and authkey.
func (m *Manager) Options() Options { return Options{Address: m.addr, AuthKey: m.key} }

// Exited is closed when a child-process manager has exited (never, in process).
func (m *Manager) Exited() <-chan struct{} {
	if m.child != nil {
		return m.child.exited
	}
	return nil
}

func randomKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

// fillDefaults gives opts a private Unix socket and a random authkey when they are
// missing, and returns a cleanup for the socket's directory.
func fillDefaults(opts *Options) (func(), error) {
	cleanup := func() {}
	if opts.Address.Network == "" {
		addr, c, err := PrivateSocket()
		if err != nil {
			return nil, err
		}
		opts.Address, cleanup = addr, c
	}
	if len(opts.AuthKey) == 0 {
		opts.AuthKey = randomKey()
	}
	return cleanup, nil
}

// StartInProcess serves a manager from goroutines of this process (for tests and
// embedding) and connects to it. Other processes can connect with m.Options().
func StartInProcess(opts Options) (*Manager, error) {
	if opts.TLS != nil {
		return nil, errors.New("mgr: StartInProcess does not take TLS; use NewServer and Serve with a TLS listener")
	}
	cleanup, err := fillDefaults(&opts)
	if err != nil {
		return nil, err
	}
	srv, ln, err := listenAndInit(opts)
	if err != nil {
		cleanup()
		return nil, err
	}
	opts.Address = ListenerAddress(ln)
	go srv.Serve(ln)
	c, err := Connect(context.Background(), opts)
	if err != nil {
		srv.Shutdown(context.Background())
		cleanup()
		return nil, err
	}
	return &Manager{addr: opts.Address, key: opts.AuthKey, client: c, srv: srv, cleanup: cleanup, drain: opts.drainTimeout()}, nil
}

func listenAndInit(opts Options) (*Server, net.Listener, error) {
	srv, err := NewServer(opts)
	if err != nil {
		return nil, nil, err
	}
	if opts.Initializer != "" {
		fn := lookupInitializer(opts.Initializer)
		if fn == nil {
			return nil, nil, fmt.Errorf("mgr: no initializer registered as %q", opts.Initializer)
		}
		if err := fn(srv); err != nil {
			return nil, nil, fmt.Errorf("mgr: initializer %q: %w", opts.Initializer, err)
		}
	}
	ln, err := Listen(opts.Address, opts.TLS)
	if err != nil {
		return nil, nil, err
	}
	return srv, ln, nil
}

// ServeForever runs a standalone manager on opts.Address (which must be set, like
// opts.AuthKey) until ctx ends or a client asks it to shut down (Python's
// get_server().serve_forever()).
func ServeForever(ctx context.Context, opts Options) error {
	if opts.Address.Network == "" {
		return errors.New("mgr: ServeForever needs Options.Address")
	}
	srv, ln, err := listenAndInit(opts)
	if err != nil {
		return err
	}
	opts.logf("mgr: manager serving on %s", ListenerAddress(ln))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		return srv.Shutdown(context.Background())
	case <-srv.Done():
		return nil
	case err := <-errc:
		srv.Shutdown(context.Background())
		return err
	}
}

// Shutdown stops the manager: calls that wait (a Queue.Get, a Lock.Acquire) end at once
// with ErrShutdown, other calls in flight drain until ctx's deadline (or the manager's
// DrainTimeout, when ctx has none), every client gets ErrShutdown, and a child process
// exits (it is killed if it has not exited some seconds after the drain should have
// ended). Later calls through this Manager's client and proxies fail with ErrShutdown.
// Shutdown is idempotent.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.once.Do(func() {
		m.shut.Store(true)
		defer m.cleanup()
		// However the client learns of it, calls through it now say the manager shut down.
		defer m.client.fail(fmt.Errorf("%w (%s): Manager.Shutdown was called", ErrShutdown, m.addr))
		if m.srv != nil {
			m.err = m.srv.Shutdown(ctx)
			return
		}
		// The manager drains by the caller's deadline; this process waits for it that long,
		// and a little more for the child to exit, before it kills it.
		wait := ctx
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			wait, cancel = context.WithTimeout(ctx, m.drain+5*time.Second)
			defer cancel()
		}
		err := m.client.Shutdown(ctx)
		if err != nil && !errors.Is(err, ErrShutdown) && !errors.Is(err, ErrConnLost) {
			m.err = err
		}
		select {
		case <-m.client.Done():
		case <-m.child.exited:
		case <-wait.Done():
		}
		if err := m.child.wait(wait); err != nil && m.err == nil {
			m.err = err
		}
	})
	return m.err
}

// Start starts the manager as a child process (it re-executes this binary, which must
// call RunChild first in main) and connects to it. The child serves on a private Unix
// socket unless opts.Address says otherwise, runs opts.Initializer before serving, and
// exits when this process dies, however it dies.
func Start(ctx context.Context, opts Options) (*Manager, error) {
	if role := os.Getenv(envRole); role != "" {
		return nil, fmt.Errorf("mgr: this process is an mgr %s child but main did not call mgr.RunChild() before mgr.Start; call it first thing in main", role)
	}
	if opts.TLS != nil {
		return nil, errors.New("mgr: Start cannot hand a TLS config to a child process; run ServeForever in a program of your own for TLS")
	}
	if opts.Codec != nil && lookupCodec(opts.Codec.Name()) == nil {
		return nil, fmt.Errorf("mgr: codec %q must be registered with RegisterCodec so the child process can find it", opts.Codec.Name())
	}
	cleanup, err := fillDefaults(&opts)
	if err != nil {
		return nil, err
	}
	cfg := childConfig{
		Role:        "manager",
		Address:     opts.Address.String(),
		AuthKey:     opts.AuthKey,
		MaxFrame:    opts.MaxFrame,
		Handshake:   opts.HandshakeTimeout,
		Lease:       opts.Lease,
		TokenTTL:    opts.TokenTTL,
		Drain:       opts.DrainTimeout,
		Initializer: opts.Initializer,
	}
	if opts.Codec != nil {
		cfg.Codec = opts.Codec.Name()
	}
	child, err := startChild(ctx, cfg)
	if err != nil {
		cleanup()
		return nil, err
	}
	c, err := Connect(ctx, opts)
	if err != nil {
		child.kill()
		cleanup()
		return nil, err
	}
	return &Manager{addr: opts.Address, key: opts.AuthKey, client: c, child: child, cleanup: cleanup, drain: opts.drainTimeout()}, nil
}

// Initializers are looked up by name because a child process cannot receive a func.
var initializers struct {
	sync.RWMutex
	byName map[string]func(*Server) error
}

// RegisterInitializer registers fn under name for Options.Initializer: the manager runs
// it before it accepts connections, e.g. to add named objects with Server.AddNamed.
// Register it from init (or before RunChild) so a child-process manager has it too.
func RegisterInitializer(name string, fn func(*Server) error) {
	initializers.Lock()
	defer initializers.Unlock()
	if initializers.byName == nil {
		initializers.byName = map[string]func(*Server) error{}
	}
	initializers.byName[name] = fn
}

func lookupInitializer(name string) func(*Server) error {
	initializers.RLock()
	defer initializers.RUnlock()
	return initializers.byName[name]
}

var codecs struct {
	sync.RWMutex
	byName map[string]Codec
}

// RegisterCodec makes a Codec available by name, so a child-process manager started
// with Options.Codec can use it too.
func RegisterCodec(c Codec) {
	codecs.Lock()
	defer codecs.Unlock()
	if codecs.byName == nil {
		codecs.byName = map[string]Codec{}
	}
	codecs.byName[c.Name()] = c
}

func lookupCodec(name string) Codec {
	if name == defaultCodec.Name() {
		return defaultCodec
	}
	codecs.RLock()
	defer codecs.RUnlock()
	return codecs.byName[name]
}
