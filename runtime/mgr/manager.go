package mgr

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"reflect"
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
	gone    time.Duration // how long watchChild reads to the end (childGoneGrace)
	once    sync.Once
	shut    atomic.Bool // Shutdown was called
	err     error
	page    string // a child's live page address (Options.PageAddress), or ""
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
	initArg, err := encodeInitArg(opts)
	if err != nil {
		cleanup()
		return nil, err
	}
	srv, ln, err := listenAndInit(opts, initArg)
	if err != nil {
		cleanup()
		return nil, err
	}
	opts.Address = ListenerAddress(ln)
	go srv.Serve(ln)
	if opts.Python.Network != "" {
		if _, err := srv.listenPython(opts.Python); err != nil {
			srv.Shutdown(context.Background())
			cleanup()
			return nil, err
		}
	}
	c, err := Connect(context.Background(), opts)
	if err != nil {
		srv.Shutdown(context.Background())
		cleanup()
		return nil, err
	}
	return &Manager{addr: opts.Address, key: opts.AuthKey, client: c, srv: srv, cleanup: cleanup, drain: opts.drainTimeout()}, nil
}

// listenAndInit makes the manager's Server, runs its initializer with initArg (the
// encoded Options.InitArg, nil if none) and listens.
func listenAndInit(opts Options, initArg *encodedValue) (*Server, net.Listener, error) {
	srv, err := NewServer(opts)
	if err != nil {
		return nil, nil, err
	}
	if opts.Initializer != "" {
		in := lookupInitializer(opts.Initializer)
		if in == nil {
			return nil, nil, fmt.Errorf("mgr: no initializer registered as %q; call mgr.RegisterInitializer or mgr.RegisterInitializerOf from an init function", opts.Initializer)
		}
		arg, err := in.decodeArg(opts.Initializer, opts.codec(), initArg)
		if err != nil {
			return nil, nil, err
		}
		if err := in.run(srv, arg); err != nil {
			return nil, nil, fmt.Errorf("mgr: initializer %q: %w", opts.Initializer, err)
		}
	} else if initArg != nil {
		return nil, nil, errors.New("mgr: Options.InitArg is set but Options.Initializer is not")
	}
	ln, err := Listen(opts.Address, opts.TLS)
	if err != nil {
		return nil, nil, err
	}
	if opts.PageAddress != "" {
		if err := srv.servePage(opts.PageAddress); err != nil { // page.go
			ln.Close()
			return nil, nil, err
		}
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
	initArg, err := encodeInitArg(opts)
	if err != nil {
		return err
	}
	srv, ln, err := listenAndInit(opts, initArg)
	if err != nil {
		return err
	}
	opts.logAt(slog.LevelInfo, "mgr: manager serving", slog.String("address", ListenerAddress(ln).String()))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if opts.Python.Network != "" {
		addr, err := srv.listenPython(opts.Python)
		if err != nil {
			srv.Shutdown(context.Background())
			return err
		}
		opts.logAt(slog.LevelInfo, "mgr: serving CPython clients", slog.String("address", addr.String()))
	}
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
		// The manager drains by the caller's deadline; this process waits for it that long,
		// and a little more for the child to exit, before it kills it.
		wait := ctx
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			wait, cancel = context.WithTimeout(ctx, m.drain+5*time.Second)
			defer cancel()
		}
		if m.srv != nil {
			m.client.readToEnd(nil)
			m.err = m.srv.Shutdown(ctx)
		} else if err := m.client.Shutdown(ctx); err != nil && !errors.Is(err, ErrShutdown) && !errors.Is(err, ErrConnLost) {
			m.err = err
		}
		// The manager has written its last frames — the replies of the calls it drained,
		// its goodbye — or its process is exiting (watchChild then reads to the end): the
		// client reads up to its end (readToEnd) before the fail above.
		select {
		case <-m.client.Done():
		case <-wait.Done():
		}
		if m.child != nil {
			if err := m.child.wait(wait); err != nil && m.err == nil {
				m.err = err
			}
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
	if len(opts.ServerInterceptors) > 0 {
		return nil, errors.New("mgr: Start cannot hand Options.ServerInterceptors to a child process; add them with Server.Intercept in an Initializer")
	}
	if opts.Codec != nil && lookupCodec(opts.Codec.Name()) == nil {
		return nil, fmt.Errorf("mgr: codec %q must be registered with RegisterCodec so the child process can find it", opts.Codec.Name())
	}
	initArg, err := encodeInitArg(opts)
	if err != nil {
		return nil, err
	}
	// The child checks the argument against its initializer; checking here too, where
	// the same init registered it, fails before a process is started.
	if opts.Initializer == "" && initArg != nil {
		return nil, errors.New("mgr: Options.InitArg is set but Options.Initializer is not")
	}
	if in := lookupInitializer(opts.Initializer); in != nil {
		if _, err := in.decodeArg(opts.Initializer, opts.codec(), initArg); err != nil {
			return nil, err
		}
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
		Resume:      opts.ResumeWindow,
		Initializer: opts.Initializer,
		InitArg:     initArg,
		SlowCall:    opts.SlowCall,
		CallStats:   opts.CallStats,
	}
	if cfg.PageAddress, err = childPageAddress(opts.PageAddress); err != nil { // page.go
		cleanup()
		return nil, err
	}
	if opts.Codec != nil {
		cfg.Codec = opts.Codec.Name()
	}
	// The child's records come back through a pipe to opts.Logger, which cannot cross
	// to the child (log.go); without a logger the child discards them.
	var files []*os.File
	if l := opts.log(); l != nil {
		logR, logW, err := os.Pipe()
		if err != nil {
			cleanup()
			return nil, err
		}
		cfg.Log, cfg.LogLevel, files = true, minLevel(l), []*os.File{logW}
		// forwardLog ends when the child's copy of the write end closes (it exited);
		// ours is closed once the child has it.
		defer logW.Close()
		go forwardLog(logR, l)
	}
	child, err := startChildFiles(ctx, cfg, files)
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
	m := &Manager{addr: opts.Address, key: opts.AuthKey, client: c, child: child, cleanup: cleanup, drain: opts.drainTimeout(), gone: cmp.Or(opts.childGoneGrace, childGoneGrace), page: cfg.PageAddress}
	go m.watchChild()
	return m, nil
}

// watchChild fails the client at once when the manager process exits: there is no
// session to resume with a process that is gone, and no reason to wait for a window.
func (m *Manager) watchChild() {
	select {
	case <-m.child.exited:
	case <-m.client.done:
		return
	}
	why := fmt.Errorf("%w: the manager process (pid %d) exited: %s", ErrConnLost, m.PID(), m.child.cmd.ProcessState)
	if m.shut.Load() {
		why = fmt.Errorf("%w (%s): Manager.Shutdown was called", ErrShutdown, m.addr)
	}
	// What the child wrote before it exited — replies, its goodbye — may still be unread:
	// the client reads to the connection's end, which follows at once (unless another
	// process holds the child's end open: then after childGoneGrace).
	m.client.readToEnd(why)
	t := time.NewTimer(m.gone)
	defer t.Stop()
	select {
	case <-m.client.done:
	case <-t.C:
		m.client.fail(why)
	}
}

// childGoneGrace bounds how long a client reads a connection to a child manager that
// has exited before it ends anyway.
const childGoneGrace = 5 * time.Second

// Initializers are looked up by name because a child process cannot receive a func.
var initializers struct {
	sync.RWMutex
	byName map[string]*initializer
}

// initializer is a registered initializer: one without an argument (RegisterInitializer)
// or one taking an argument of type arg (RegisterInitializerOf).
type initializer struct {
	arg reflect.Type // nil: no argument
	run func(s *Server, arg reflect.Value) error
}

// RegisterInitializer registers fn under name for Options.Initializer: the manager runs
// it before it accepts connections, e.g. to add named objects with Server.AddNamed.
// Register it from init (or before RunChild) so a child-process manager has it too.
// Registering a name again replaces the initializer. An initializer that needs an
// argument is registered with RegisterInitializerOf.
func RegisterInitializer(name string, fn func(*Server) error) {
	if name == "" || fn == nil {
		panic("mgr: RegisterInitializer needs a name and a function")
	}
	registerInitializer(name, &initializer{run: func(s *Server, _ reflect.Value) error { return fn(s) }})
}

// RegisterInitializerOf registers fn under name for Options.Initializer, like
// RegisterInitializer, for an initializer that takes an argument (Python's
// start(initializer, initargs)): the manager calls fn with Options.InitArg, which must
// be an A. The argument reaches a child-process manager encoded with the codec, like a
// Spawn argument (see Client.Spawn): A keeps its type, numbers inside an any keep
// theirs, and what the codec cannot carry (unexported fields, funcs) is refused by
// Start. Several values go in a struct:
//
//	type seed struct{ Names []string; Limit int }
//
//	func init() {
//		mgr.RegisterInitializerOf("seed", func(s *mgr.Server, a seed) error { … })
//	}
//
//	m, err := mgr.Start(ctx, mgr.Options{Initializer: "seed", InitArg: seed{Limit: 3}})
func RegisterInitializerOf[A any](name string, fn func(*Server, A) error) {
	if name == "" || fn == nil {
		panic("mgr: RegisterInitializerOf needs a name and a function")
	}
	registerInitializer(name, &initializer{
		arg: reflect.TypeFor[A](),
		run: func(s *Server, arg reflect.Value) error {
			var a A
			reflect.ValueOf(&a).Elem().Set(arg)
			return fn(s, a)
		},
	})
}

func registerInitializer(name string, in *initializer) {
	initializers.Lock()
	defer initializers.Unlock()
	if initializers.byName == nil {
		initializers.byName = map[string]*initializer{}
	}
	initializers.byName[name] = in
}

func lookupInitializer(name string) *initializer {
	initializers.RLock()
	defer initializers.RUnlock()
	return initializers.byName[name]
}

// encodeInitArg encodes opts.InitArg for the manager (nil when there is none): through
// the codec even in process, so an argument works the same in either kind of manager.
func encodeInitArg(opts Options) (*encodedValue, error) {
	if opts.InitArg == nil {
		return nil, nil
	}
	ev, err := encodePlain(opts.codec(), opts.InitArg)
	if err != nil {
		return nil, fmt.Errorf("mgr: Options.InitArg (%T): %w", opts.InitArg, err)
	}
	return &ev, nil
}

// decodeArg decodes the initializer's argument from ev (nil: none was given) and checks
// that it is the argument the initializer takes.
func (in *initializer) decodeArg(name string, cdc Codec, ev *encodedValue) (reflect.Value, error) {
	switch {
	case in.arg == nil && ev == nil:
		return reflect.Value{}, nil
	case in.arg == nil:
		return reflect.Value{}, fmt.Errorf("mgr: initializer %q takes no argument (it was registered with RegisterInitializer), but Options.InitArg is a %s; register it with RegisterInitializerOf to give it one", name, ev.Type)
	case ev == nil:
		return reflect.Value{}, fmt.Errorf("mgr: initializer %q takes a %s; set Options.InitArg", name, in.arg)
	}
	return decodePlain(cdc, *ev, in.arg, fmt.Sprintf("Options.InitArg of initializer %q", name))
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
