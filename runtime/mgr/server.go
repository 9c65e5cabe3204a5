package mgr

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
)

// Server is a manager: it owns the object table and serves sessions. Create one with
// NewServer, feed it listeners with Serve, stop it with Shutdown. Most programs use
// Start, StartInProcess or ServeForever instead, which do this for them.
type Server struct {
	opts  Options
	obs   *observer // call statistics and the live page (page.go), or nil
	cdc   Codec
	spin  *pollBudget // its sessions' readers' polling budget (spin.go); nil: they never poll
	epoch uint64      // random per run: a client resuming a session learns the manager restarted
	// internal is the manager's own session (ID 0): it holds the references of proxies
	// stored inside shared objects and of named objects.
	internal *session
	backend  backendBox // where objects live when not here (backend.go)

	mu        sync.RWMutex // guards everything below; never held while user code runs
	objects   map[uint64]*object
	types     map[*TypeDesc]*serverType // the types of objects made so far (reader.go)
	byValue   map[any]uint64            // referent → ID, so a method returning a known object reuses it
	named     map[string]uint64
	sessions  map[uint64]*session
	tokens    map[[16]byte]*handoff
	nextObj   uint64
	nextSess  uint64
	listeners map[net.Listener]struct{}
	py        *pyState // the CPython front-end's state, made on first use (python_refs.go)

	handshakes chan struct{} // bounds concurrent unauthenticated connections
	bufs       sync.Pool     // *[]byte for arguments and replies
	scratch    sync.Pool     // *callScratch for running calls (dispatch.go)
	idle       chan callJob  // idle call workers wait here (workers.go)

	inflight       atomic.Int64 // calls running
	inlineWatching atomic.Bool  // the watchdog of inline calls runs (reader.go)
	shutting       atomic.Bool
	forced         atomic.Bool   // the drain deadline passed; running calls were cancelled
	drained        chan struct{} // signalled when inflight drops to zero during shutdown
	callsCtx       context.Context
	cancelAll      context.CancelFunc
	once           sync.Once
	finished       chan struct{}

	localMu sync.Mutex  // guards locals alone
	locals  map[any]any // per-manager state of shared types (server_local.go)
}

// object is one entry of the table.
type object struct {
	id    uint64
	desc  *serverType
	value any
	mu    sync.Mutex // held around calls when desc.Serialized
	refs  refCounts  // per holding session
	named string
	// tokens counts hand-overs made but not yet attached; each keeps the object alive.
	tokens int
	// pins counts manager-internal calls whose results name the object but have not been
	// decoded yet (Server.call); each keeps it too.
	pins int
	py   *PyType // how CPython clients see it, once one has (python_dispatch.go)
}

type handoff struct {
	objID   uint64
	session uint64 // the session that made it, which alone may revoke it
	timer   *time.Timer
}

// maxHandshakes bounds connections that have not authenticated yet; more wait in the
// kernel's accept queue, so a flood cannot exhaust the manager.
const maxHandshakes = 64

// NewServer returns a manager that has not started serving. opts.AuthKey must be set.
func NewServer(opts Options) (*Server, error) {
	if len(opts.AuthKey) == 0 {
		return nil, errors.New("mgr: a manager needs an AuthKey (an empty key would let anyone in)")
	}
	opts = withSlowCall(opts)       // interceptor.go
	opts, obs := withObserver(opts) // page.go
	s := &Server{
		obs:        obs,
		opts:       opts,
		cdc:        opts.codec(),
		spin:       newPollBudget(opts),
		objects:    map[uint64]*object{},
		types:      map[*TypeDesc]*serverType{},
		byValue:    map[any]uint64{},
		named:      map[string]uint64{},
		sessions:   map[uint64]*session{},
		tokens:     map[[16]byte]*handoff{},
		listeners:  map[net.Listener]struct{}{},
		handshakes: make(chan struct{}, maxHandshakes),
		idle:       make(chan callJob),
		drained:    make(chan struct{}, 1),
		finished:   make(chan struct{}),
	}
	s.callsCtx, s.cancelAll = context.WithCancel(context.WithValue(context.Background(), serverKey{}, s))
	var e [8]byte
	rand.Read(e[:])
	s.epoch = binary.LittleEndian.Uint64(e[:]) | 1 // never 0, which means "none"
	s.internal = &session{srv: s, id: 0, ctx: withCaller(s.callsCtx, Caller{})}
	return s, nil
}

// Serve accepts connections on ln until Shutdown; it then returns nil.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shutting.Load() {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.shutting.Load() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if resourceShortage(err) {
				// Out of descriptors or buffers (too many sessions, a flood): wait for some
				// to be freed instead of stopping serving for good, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.opts.logAt(slog.LevelWarn, "mgr: accept: failed; retrying", slog.Any(LogErr, err), slog.Duration("backoff", backoff))
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("mgr: accept: %w", err)
		}
		backoff = 0
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		s.handshakes <- struct{}{}
		go s.serveConn(conn)
	}
}

// resourceShortage reports whether an accept error is a passing lack of resources.
func resourceShortage(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

// Done is closed when Shutdown has finished.
func (s *Server) Done() <-chan struct{} { return s.finished }

func (s *Server) serveConn(conn net.Conn) {
	conn.SetDeadline(time.Now().Add(s.opts.handshakeTimeout()))
	r := wire.NewReader(connReader(conn, s.spin), wire.MaxHandshakeFrame)
	err := wire.ServerHandshake(conn, r, s.opts.AuthKey, s.cdc.Name())
	<-s.handshakes
	if err != nil {
		s.opts.logAt(slog.LevelWarn, "mgr: rejected connection: handshake failed", slog.String(LogPeer, conn.RemoteAddr().String()), slog.Any(LogErr, err))
		conn.Close()
		return
	}
	r.SetMax(s.opts.maxFrame())
	// The first frame says whether this is a new session or a broken one's resume; a
	// client that says nothing is dropped after the handshake timeout.
	first, err := r.Next()
	if err != nil {
		if errors.Is(err, wire.ErrFrameTooLarge) {
			writeGoodbye(wire.NewWriter(conn), wire.KindAbort, err.Error())
		}
		s.opts.logAt(slog.LevelWarn, "mgr: connection failed after the handshake", slog.String(LogPeer, conn.RemoteAddr().String()), slog.Any(LogErr, err))
		conn.Close()
		return
	}
	conn.SetDeadline(time.Time{})
	if len(first) > 0 && first[0] == wire.KindResume {
		s.resume(conn, r, first) // resume.go
		return
	}
	sess := s.newSession(conn)
	if sess == nil {
		writeGoodbye(wire.NewWriter(conn), wire.KindGoodbye, "manager is shutting down")
		conn.Close()
		return
	}
	go sess.watchLease()
	rd := newSessionReader(sess, r, sess.gen) // reader.go
	if reading, err := rd.handleFrame(first); err != nil || !reading {
		if err != nil {
			writeGoodbye(sess.w, wire.KindAbort, fmt.Sprintf("protocol error: %v", err))
			s.endSession(sess, err)
		}
		return
	}
	rd.run()
}

func (s *Server) newSession(conn net.Conn) *session {
	ctx, cancel := context.WithCancel(s.callsCtx)
	sess := &session{
		srv:      s,
		w:        wire.NewLoggedWriter(newStallWriter(conn, s.opts.lease()), wire.NewReplayLog(maxReplayLog)),
		token:    newToken(),
		remote:   conn.RemoteAddr().String(),
		calls:    map[uint64]*callRec{},
		reserved: map[uint64]reservation{},
		refs:     map[uint64]int{},
		done:     make(chan struct{}),
		cancel:   cancel,
	}
	sess.flow.L = &sess.fmu
	sess.attach(conn)
	sess.lastRecv.Store(time.Now().UnixNano())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting.Load() {
		cancel()
		return nil
	}
	s.nextSess++
	sess.id = s.nextSess
	sess.ctx = withCaller(ctx, Caller{id: sess.id, done: sess.done, sess: sess})
	s.sessions[sess.id] = sess
	return sess
}

// The manager as the owner of the proxies it holds itself: calls go straight to the
// dispatch table, no socket involved.

func (s *Server) newCall(h *Handle, method int) *Call {
	return &Call{h: h, method: method, Args: Encoder{env: s.internal}}
}

func (s *Server) call(ctx context.Context, c *Call) error {
	// track: the objects the result made (pinned by newObject), unpinned when the call
	// ends — decoded (Call.End) or failed here — so none stays without a reference.
	res := Encoder{env: s.internal, track: true}
	dec := Decoder{buf: c.Args.buf, env: s.internal}
	err := s.dispatch(withCaller(ctx, Caller{}), s.internal, c.h.id, uint64(c.method), &dec, &res)
	if err == nil {
		err = res.err
	}
	if err != nil {
		s.unpin(res.refs)
		return err
	}
	c.res = Decoder{buf: res.buf, env: s.internal}
	c.pinned = res.refs
	return nil
}

func (s *Server) release(_ context.Context, h *Handle) error {
	s.dropInternal(h.id)
	return nil
}

func (s *Server) token(_ context.Context, h *Handle) (Token, error) {
	return Token{}, errors.New("mgr: tokens are made by clients; the manager's own proxies cannot make them")
}

func (s *Server) describe() string { return "this manager" }

// getBuf returns a recycled buffer for call arguments or replies.
func (s *Server) getBuf(n int) *[]byte {
	b, _ := s.bufs.Get().(*[]byte)
	if b == nil {
		b = new([]byte)
	}
	if cap(*b) < n {
		*b = make([]byte, 0, max(n, 512))
	}
	return b
}

// putBuf recycles b unless it grew large.
func (s *Server) putBuf(b *[]byte) {
	if cap(*b) > 64<<10 {
		return
	}
	*b = (*b)[:0]
	s.bufs.Put(b)
}
