package mgr

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
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
	opts Options
	cdc  Codec
	// internal is the manager's own session (ID 0): it holds the references of proxies
	// stored inside shared objects and of named objects.
	internal *session

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

	handshakes chan struct{} // bounds concurrent unauthenticated connections
	bufs       sync.Pool     // *[]byte for arguments and replies
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
}

type handoff struct {
	objID uint64
	timer *time.Timer
}

// maxHandshakes bounds connections that have not authenticated yet; more wait in the
// kernel's accept queue, so a flood cannot exhaust the manager.
const maxHandshakes = 64

// NewServer returns a manager that has not started serving. opts.AuthKey must be set.
func NewServer(opts Options) (*Server, error) {
	if len(opts.AuthKey) == 0 {
		return nil, errors.New("mgr: a manager needs an AuthKey (an empty key would let anyone in)")
	}
	s := &Server{
		opts:       opts,
		cdc:        opts.codec(),
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
	s.callsCtx, s.cancelAll = context.WithCancel(context.Background())
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
				s.opts.logf("mgr: accept: %v; retrying in %s", err, backoff)
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
	r := wire.NewReader(conn, wire.MaxHandshakeFrame)
	err := wire.ServerHandshake(conn, r, s.opts.AuthKey, s.cdc.Name())
	<-s.handshakes
	if err != nil {
		s.opts.logf("mgr: rejected connection from %s: %v", conn.RemoteAddr(), err)
		conn.Close()
		return
	}
	conn.SetDeadline(time.Time{})
	r.SetMax(s.opts.maxFrame())
	sess := s.newSession(conn)
	if sess == nil {
		writeGoodbye(wire.NewWriter(conn), wire.KindGoodbye, "manager is shutting down")
		conn.Close()
		return
	}
	go sess.watchLease()
	newSessionReader(sess, r).run() // reader.go
}

func (s *Server) newSession(conn net.Conn) *session {
	ctx, cancel := context.WithCancel(s.callsCtx)
	sess := &session{
		srv:    s,
		conn:   conn,
		w:      wire.NewWriter(&stallWriter{conn: conn, timeout: s.opts.lease()}),
		remote: conn.RemoteAddr().String(),
		calls:  map[uint64]context.CancelFunc{},
		refs:   map[uint64]int{},
		done:   make(chan struct{}),
		cancel: cancel,
	}
	sess.flow.L = &sess.fmu
	sess.lastRecv.Store(time.Now().UnixNano())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting.Load() {
		cancel()
		return nil
	}
	s.nextSess++
	sess.id = s.nextSess
	sess.ctx = withCaller(ctx, Caller{id: sess.id, done: sess.done})
	s.sessions[sess.id] = sess
	return sess
}

// endSession drops everything the session held: its calls are cancelled, waiters see
// Caller.Done close, and each of its references is released.
func (s *Server) endSession(sess *session, reason error) {
	sess.endOnce.Do(func() {
		if reason != nil && !errors.Is(reason, io.EOF) && !errors.Is(reason, net.ErrClosed) {
			s.opts.logf("mgr: session %d (%s, pid %d) ended: %v", sess.id, sess.remote, sess.pid, reason)
		}
		sess.cancel()
		close(sess.done)
		sess.fmu.Lock()
		sess.flow.Broadcast() // a read loop waiting for a call slot gives up
		sess.fmu.Unlock()
		sess.conn.Close()
		s.mu.Lock()
		delete(s.sessions, sess.id)
		for id, n := range sess.refs {
			if obj := s.objects[id]; obj != nil {
				obj.refs.add(sess.id, -n)
				s.maybeRemoveLocked(obj)
			}
		}
		sess.refs = nil
		sess.ended = true
		s.mu.Unlock()
	})
}

// maybeRemoveLocked removes obj when nothing keeps it: no reference, no pending token,
// and not a named object.
func (s *Server) maybeRemoveLocked(obj *object) {
	if obj.refs.len() > 0 || obj.tokens > 0 || obj.named != "" {
		return
	}
	delete(s.objects, obj.id)
	if id, ok := s.byValue[obj.value]; ok && id == obj.id {
		delete(s.byValue, obj.value)
	}
}

// addObjectLocked enters value into the table with one reference for holder (none
// when holder is nil). It fails, adding nothing, when holder has ended.
func (s *Server) addObjectLocked(desc *TypeDesc, value any, holder *session) (*object, error) {
	if holder != nil && holder.ended {
		return nil, endedError(holder)
	}
	t := s.types[desc]
	if t == nil {
		t = &serverType{TypeDesc: desc, hold: make([]atomic.Int64, len(desc.Methods))}
		s.types[desc] = t
	}
	s.nextObj++
	obj := &object{id: s.nextObj, desc: t, value: value}
	s.objects[obj.id] = obj
	if holder != nil {
		s.increfLocked(obj, holder) // cannot fail: holder is live
	}
	return obj, nil
}

func endedError(sess *session) error {
	return callError(ErrConnLost, "session %d has ended", sess.id)
}

// increfLocked counts one more reference of holder to obj. It refuses a session that has
// ended: a call still running when its session ends must not take a reference for it,
// since nothing would ever drop it.
func (s *Server) increfLocked(obj *object, holder *session) error {
	if holder.ended {
		return endedError(holder)
	}
	obj.refs.add(holder.id, 1)
	if holder.refs != nil {
		holder.refs[obj.id]++
	}
	return nil
}

func (s *Server) decrefLocked(obj *object, holder *session) error {
	if obj.refs.get(holder.id) <= 0 {
		return callError(ErrReleased, "session %d holds no reference to %s#%d", holder.id, obj.desc.TypeID, obj.id)
	}
	obj.refs.add(holder.id, -1)
	if holder.refs != nil {
		holder.refs[obj.id]--
		if holder.refs[obj.id] <= 0 {
			delete(holder.refs, obj.id)
		}
	}
	s.maybeRemoveLocked(obj)
	return nil
}

func (s *Server) lookup(id uint64) *object {
	s.mu.RLock()
	obj := s.objects[id]
	s.mu.RUnlock()
	return obj
}

// AddNamed makes value, of the registered type typeID, a named object the manager owns
// until shutdown: clients reach it with Client.Lookup (or the generated LookupT).
func (s *Server) AddNamed(name, typeID string, value any) error {
	desc := LookupType(typeID)
	if desc == nil {
		return callError(ErrUnknownType, "%q is not registered in this process", typeID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.named[name]; ok {
		return fmt.Errorf("mgr: a named object %q exists already", name)
	}
	obj, _ := s.addObjectLocked(desc, value, nil) // no holder: cannot fail
	obj.named = name
	s.named[name] = obj.id
	return nil
}

// NumObjects returns how many objects the table holds.
func (s *Server) NumObjects() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.objects)
}

// NumSessions returns how many client sessions are connected.
func (s *Server) NumSessions() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.sessions)
}

// Info is the manager's introspection: its sessions and its objects.
type Info struct {
	Sessions []SessionInfo
	Objects  []ObjectInfo
}

// SessionInfo describes one client session.
type SessionInfo struct {
	ID      uint64
	Remote  string
	PID     int
	Program string
	// Refs is how many references the session holds.
	Refs int
}

// ObjectInfo describes one object in the table.
type ObjectInfo struct {
	ID     uint64
	TypeID string
	// Name is set for named objects the manager owns.
	Name string
	// Refs is the total number of references; Holders says who holds them (session 0 is
	// the manager itself: proxies stored inside other shared objects).
	Refs    int
	Holders []Holder
	// Tokens counts hand-overs not yet attached.
	Tokens int
}

// Holder is a session's share of an object's references.
type Holder struct {
	Session uint64
	Refs    int
}

// Info returns the current introspection, sorted by ID.
func (s *Server) Info() Info {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var info Info
	for _, sess := range s.sessions {
		n := 0
		for _, c := range sess.refs {
			n += c
		}
		info.Sessions = append(info.Sessions, SessionInfo{ID: sess.id, Remote: sess.remote, PID: sess.pid, Program: sess.program, Refs: n})
	}
	for _, obj := range s.objects {
		oi := ObjectInfo{ID: obj.id, TypeID: obj.desc.TypeID, Name: obj.named, Tokens: obj.tokens}
		for holder, n := range obj.refs.all {
			oi.Refs += n
			oi.Holders = append(oi.Holders, Holder{Session: holder, Refs: n})
		}
		slices.SortFunc(oi.Holders, func(a, b Holder) int { return cmpU64(a.Session, b.Session) })
		info.Objects = append(info.Objects, oi)
	}
	slices.SortFunc(info.Sessions, func(a, b SessionInfo) int { return cmpU64(a.ID, b.ID) })
	slices.SortFunc(info.Objects, func(a, b ObjectInfo) int { return cmpU64(a.ID, b.ID) })
	return info
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Shutdown stops the manager: it stops accepting connections and calls, waits for calls
// in flight until ctx ends (or DrainTimeout, when ctx has no deadline), then cancels the
// calls still running, tells every client the manager shut down, and closes their
// connections. Clients then get ErrShutdown. Shutdown is idempotent; every call returns
// once the first has finished (or its own ctx ends).
func (s *Server) Shutdown(ctx context.Context) error {
	first := false
	s.once.Do(func() { first = true })
	if !first {
		select {
		case <-s.finished:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	s.shutting.Store(true)
	for ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()

	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.drainTimeout())
		defer cancel()
	}
	for s.inflight.Load() > 0 {
		select {
		case <-s.drained:
		case <-ctx.Done():
			s.forced.Store(true)
		}
		if s.forced.Load() {
			break
		}
	}
	s.forced.Store(true)
	s.cancelAll()

	s.mu.Lock()
	sessions := make([]*session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	// Say goodbye to every session at once: a peer that stopped reading makes its write
	// wait for the stall deadline, and must not hold up the others.
	var bye sync.WaitGroup
	for _, sess := range sessions {
		bye.Go(func() {
			writeGoodbye(sess.w, wire.KindGoodbye, "manager shut down")
			s.endSession(sess, nil)
		})
	}
	bye.Wait()
	s.mu.Lock()
	for _, h := range s.tokens {
		h.timer.Stop()
	}
	clear(s.tokens)
	clear(s.objects)
	clear(s.byValue)
	clear(s.named)
	s.mu.Unlock()
	close(s.finished)
	return nil
}

func writeGoodbye(w *wire.Writer, kind byte, msg string) {
	e := Encoder{buf: make([]byte, wire.HeaderSize, 64)}
	e.buf = append(e.buf, kind)
	e.String(msg)
	wire.PutHeader(e.buf, len(e.buf)-wire.HeaderSize)
	_ = w.WriteFrame(e.buf)
}

// session is one client's connection and everything it holds.
type session struct {
	srv     *Server
	id      uint64
	conn    net.Conn
	w       *wire.Writer
	remote  string
	pid     int
	program string

	ctx     context.Context // carries the Caller; cancelled when the session ends
	cancel  context.CancelFunc
	done    chan struct{}
	endOnce sync.Once

	cmu   sync.Mutex
	calls map[uint64]context.CancelFunc

	refs  map[uint64]int // object ID → count; guarded by srv.mu
	ended bool           // the session is over; guarded by srv.mu

	lastRecv    atomic.Int64
	flowBlocked atomic.Bool                   // the read loop waits for call slots (acquire)
	reader      atomic.Pointer[sessionReader] // the goroutine reading the session's frames

	// Backpressure: calls running and the bytes of their arguments, bounded by
	// maxSessionCalls and maxSessionArgBytes. At the bound the read loop stops reading
	// until a call finishes, so a peer that floods calls, or stops reading replies (its
	// calls then cannot finish), is held back by the transport's flow control instead of
	// by the manager's memory.
	fmu    sync.Mutex
	flow   sync.Cond
	fcalls int
	fbytes int
}

// Per-session bounds on calls in flight (see session.flow). A call that blocks (a
// Queue.Get) holds its slot, so a client with more than maxSessionCalls calls blocked at
// once waits for one of them to end before the next is read.
const (
	maxSessionCalls    = 4096
	maxSessionArgBytes = 64 << 20
)

// acquire waits for room for a call with n bytes of arguments; it returns false when
// the session ended meanwhile. One call always fits, however large.
func (sess *session) acquire(n int) bool {
	sess.fmu.Lock()
	defer sess.fmu.Unlock()
	flushed := false
	for sess.fcalls >= maxSessionCalls || (sess.fcalls > 0 && sess.fbytes+n > maxSessionArgBytes) {
		select {
		case <-sess.done:
			return false
		default:
		}
		if !flushed {
			// About to wait: send the replies inline calls left buffered first — the
			// peer may need one of them to end the calls we wait for.
			flushed = true
			sess.fmu.Unlock()
			if err := sess.w.Flush(); err != nil {
				sess.conn.Close()
			}
			sess.fmu.Lock()
			continue
		}
		// While we hold the reading back, the peer's silence is our doing: keep the
		// session's lease alive (watchLease).
		sess.flowBlocked.Store(true)
		sess.flow.Wait()
	}
	sess.flowBlocked.Store(false)
	sess.fcalls++
	sess.fbytes += n
	return true
}

func (sess *session) releaseSlot(n int) {
	sess.fmu.Lock()
	sess.fcalls--
	sess.fbytes -= n
	sess.flow.Signal()
	sess.fmu.Unlock()
}

// stallWriter bounds every write to a session's connection: a peer that stops reading
// for a whole lease fails the write, and the session ends (runCall closes the
// connection) instead of holding its calls' goroutines and replies forever.
//
// The deadline is moved forward only when less than half the lease is left, not on
// every write, to keep re-arming a runtime timer off the path of every reply. A stalled
// write therefore fails between half a lease and a lease after it began. Writes are serialised by the wire.Writer that owns this value.
type stallWriter struct {
	conn     net.Conn
	timeout  time.Duration
	deadline time.Time
}

func (w *stallWriter) Write(p []byte) (int, error) {
	if now := time.Now(); w.deadline.Sub(now) < w.timeout/2 {
		w.deadline = now.Add(w.timeout)
		w.conn.SetWriteDeadline(w.deadline)
	}
	return w.conn.Write(p)
}

// watchLease ends a session that has been silent for longer than the lease (a client
// pings at a third of it), so a peer lost to the network does not keep its references.
func (sess *session) watchLease() {
	lease := sess.srv.opts.lease()
	t := time.NewTicker(lease / 4)
	defer t.Stop()
	for {
		select {
		case <-sess.done:
			return
		case <-t.C:
			if sess.flowBlocked.Load() {
				sess.lastRecv.Store(time.Now().UnixNano())
				continue
			}
			if quiet := time.Since(time.Unix(0, sess.lastRecv.Load())); quiet > lease {
				sess.srv.endSession(sess, fmt.Errorf("no word for %s (lease %s)", quiet.Round(time.Millisecond), lease))
				return
			}
		}
	}
}

// replyReserve is room for a reply's frame length, kind, request ID and an empty list of
// references.
const replyReserve = wire.HeaderSize + 1 + binary.MaxVarintLen64 + 1

// runCall runs one call and writes its reply. A call run inline by the session's reader
// (j.rd != nil) leaves its reply buffered when more requests are already waiting to be
// read, so pipelined calls share one write.
func (sess *session) runCall(j callJob) {
	s := sess.srv
	defer func() {
		if j.cancel != nil {
			j.cancel()
			sess.cmu.Lock()
			delete(sess.calls, j.reqID)
			sess.cmu.Unlock()
		}
		sess.releaseSlot(j.slot)
		s.putBuf(j.args)
		if s.inflight.Add(-1) == 0 && s.shutting.Load() {
			select {
			case s.drained <- struct{}{}:
			default:
			}
		}
	}()
	res := s.getBuf(0)
	defer s.putBuf(res)
	enc := Encoder{buf: append((*res)[:0], make([]byte, replyReserve)...), env: sess, track: true}

	if j.rd == nil && j.obj != nil && j.obj.desc.Serialized && !j.locked && !s.shutting.Load() &&
		j.method < uint64(len(j.obj.desc.Methods)) {
		// A worker waits for a one-at-a-time object here rather than in dispatchObject,
		// so the wait stays out of the hold measured next (a reader never waits for it).
		j.obj.mu.Lock()
		j.locked = true
	}
	hold, measured := s.startHold(&j) // reader.go
	var err error
	if s.shutting.Load() {
		if j.locked {
			j.obj.mu.Unlock() // taken for an inline call by the reader (TryLock)
		}
		err = callError(ErrShutdown, "the manager is shutting down")
	} else {
		dec := Decoder{buf: *j.args, env: sess}
		if j.objID == wire.ControlObject {
			err = s.control(j.ctx, sess, j.method, &dec, &enc)
		} else {
			err = s.dispatchObject(j.ctx, j.obj, j.objID, j.method, &dec, &enc, j.locked)
		}
		if err == nil {
			err = enc.err
		}
		if err != nil && s.forced.Load() {
			err = &RemoteError{Msg: "mgr: manager shut down while the call ran: " + err.Error(), Sentinel: ErrShutdown}
		}
	}
	var frame []byte
	if err != nil {
		sess.dropRefs(enc.refs) // the caller gets no handles for them
		frame = errorFrame(enc.buf[:replyReserve], j.reqID, err)
	} else {
		frame = finishReply(enc.buf, j.reqID, enc.refs)
	}
	*res = enc.buf // keep the grown buffer for the pool
	reading := j.rd != nil && j.rd.endInline()
	if measured {
		hold.stop(&j, reading)
	}
	if reading && j.rd.r.Buffered() > 0 {
		err = sess.w.WriteFrameBuffered(frame) // the reader flushes before it waits (reader.go)
	} else {
		err = sess.w.WriteFrame(frame)
	}
	if err != nil {
		// The peer is gone or stopped reading (the write stalled for a lease); the
		// writer fails every later reply too, so end the session: closing the
		// connection ends the read loop, which ends the session.
		sess.conn.Close()
	}
}

// finishReply writes the reply header — kind, request ID, and the IDs of the references
// the reply counted for the session — right-aligned into the reserved space of buf. A
// client that gave up on the call drops those references when the reply comes late.
func finishReply(buf []byte, reqID uint64, refs []uint64) []byte {
	var hdr [replyReserve]byte
	h := append(hdr[:wire.HeaderSize], wire.KindReply)
	h = binary.AppendUvarint(h, reqID)
	h = binary.AppendUvarint(h, uint64(len(refs)))
	if len(refs) > 0 {
		// Rare (a method returning proxies), and the list has no reserved room: copy.
		for _, id := range refs {
			h = binary.AppendUvarint(h, id)
		}
		frame := append(h, buf[replyReserve:]...)
		wire.PutHeader(frame, len(frame)-wire.HeaderSize)
		return frame
	}
	start := replyReserve - len(h)
	frame := buf[start:]
	copy(frame, h)
	wire.PutHeader(frame, len(frame)-wire.HeaderSize)
	return frame
}

// dropRefs undoes references counted for the session by a reply that became an error.
func (sess *session) dropRefs(ids []uint64) {
	if len(ids) == 0 || sess.id == 0 {
		return
	}
	s := sess.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if obj := s.objects[id]; obj != nil {
			_ = s.decrefLocked(obj, sess) // a session that ended has dropped them already
		}
	}
}

func errorFrame(buf []byte, reqID uint64, err error) []byte {
	e := Encoder{buf: append(buf[:0], 0, 0, 0, 0, wire.KindError)}
	e.Uint64(reqID)
	stack := ""
	var re *RemoteError
	if errors.As(err, &re) {
		stack = re.Stack
	}
	e.String(err.Error())
	e.String(sentinelName(err))
	e.String(stack)
	wire.PutHeader(e.buf, len(e.buf)-wire.HeaderSize)
	return e.buf
}

// dispatch runs one call: a control method of the manager or an exposed method.
func (s *Server) dispatch(ctx context.Context, sess *session, objID, method uint64, args *Decoder, res *Encoder) (err error) {
	if objID == wire.ControlObject {
		return s.control(ctx, sess, method, args, res)
	}
	return s.dispatchObject(ctx, s.lookup(objID), objID, method, args, res, false)
}

// dispatchObject runs method of obj, the object the table held under objID when the
// call was read (nil if none). locked says the caller holds obj.mu already (only for a
// valid method of a Serialized type); it is released here.
func (s *Server) dispatchObject(ctx context.Context, obj *object, objID, method uint64, args *Decoder, res *Encoder, locked bool) (err error) {
	if obj == nil {
		return callError(ErrUnknownObject, "object #%d does not exist (released, or never created)", objID)
	}
	desc := obj.desc
	if method >= uint64(len(desc.Methods)) {
		return callError(ErrUnknownMethod, "%s has no exposed method #%d (it exposes %s)", desc.TypeID, method, methodNames(desc.TypeDesc))
	}
	m := &desc.Methods[method]
	if desc.Serialized {
		if !locked {
			obj.mu.Lock()
		}
		defer obj.mu.Unlock()
	}
	defer func() {
		if p := recover(); p != nil {
			err = &RemoteError{
				Msg:      fmt.Sprintf("%s.%s panicked: %v", desc.TypeID, m.Name, p),
				Sentinel: ErrPanic,
				Stack:    string(debug.Stack()),
			}
		}
	}()
	return m.Call(ctx, obj.value, args, res)
}

func methodNames(desc *TypeDesc) string {
	names := make([]string, len(desc.Methods))
	for i, m := range desc.Methods {
		names[i] = fmt.Sprintf("#%d %s", i, m.Name)
	}
	if len(names) == 0 {
		return "no methods"
	}
	return strings.Join(names, ", ")
}

// control runs a method of the manager itself.
func (s *Server) control(ctx context.Context, sess *session, method uint64, args *Decoder, res *Encoder) (err error) {
	switch method {
	case wire.CtlHello:
		pid, prog := args.Int64(), args.String()
		if err := args.Done(); err != nil {
			return err
		}
		s.mu.Lock()
		sess.pid, sess.program = int(pid), prog
		s.mu.Unlock()
		res.Uint64(sess.id)
		return nil

	case wire.CtlCreate:
		typeID := args.String()
		if err := args.Err(); err != nil {
			return err
		}
		desc := LookupType(typeID)
		if desc == nil {
			return callError(ErrUnknownType, "%q is not registered in the manager process (link its package into the manager binary; instances of generic types need their RegisterT[...]() call in init)", typeID)
		}
		if desc.New == nil {
			return fmt.Errorf("mgr: %s cannot be created by clients (it has no constructor)", typeID)
		}
		value, err := s.construct(ctx, desc, args)
		if err != nil {
			return err
		}
		if isNil(value) {
			return fmt.Errorf("mgr: the constructor of %s returned nil without an error", typeID)
		}
		if err := args.Done(); err != nil {
			return fmt.Errorf("mgr: constructor arguments of %s: %w", typeID, err)
		}
		s.mu.Lock()
		obj, err := s.addObjectLocked(desc, value, sess)
		s.mu.Unlock()
		if err != nil {
			return err
		}
		res.Uint64(obj.id)
		return nil

	case wire.CtlRelease:
		id := args.Uint64()
		if err := args.Done(); err != nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		obj := s.objects[id]
		if obj == nil {
			return callError(ErrUnknownObject, "release of object #%d, which does not exist", id)
		}
		return s.decrefLocked(obj, sess)

	case wire.CtlToken:
		id := args.Uint64()
		if err := args.Done(); err != nil {
			return err
		}
		var secret [16]byte
		rand.Read(secret[:])
		s.mu.Lock()
		defer s.mu.Unlock()
		obj := s.objects[id]
		if obj == nil {
			return callError(ErrUnknownObject, "token for object #%d, which does not exist", id)
		}
		if obj.refs.get(sess.id) <= 0 {
			return callError(ErrReleased, "session %d holds no reference to %s#%d", sess.id, obj.desc.TypeID, id)
		}
		obj.tokens++
		s.tokens[secret] = &handoff{objID: id, timer: time.AfterFunc(s.opts.tokenTTL(), func() { s.expireToken(secret) })}
		res.ByteSlice(secret[:])
		return nil

	case wire.CtlAttach:
		id := args.Uint64()
		b := args.ByteSlice()
		if err := args.Done(); err != nil {
			return err
		}
		var secret [16]byte
		if len(b) != len(secret) {
			return callError(ErrBadToken, "malformed token secret")
		}
		copy(secret[:], b)
		s.mu.Lock()
		defer s.mu.Unlock()
		h := s.tokens[secret]
		if h == nil || h.objID != id {
			return callError(ErrBadToken, "token for object #%d is unknown, already attached, or expired", id)
		}
		obj := s.objects[id]
		if err := s.increfLocked(obj, sess); err != nil {
			return err // the token stays for a live session to attach
		}
		h.timer.Stop()
		delete(s.tokens, secret)
		obj.tokens--
		res.Uint64(id)
		res.String(obj.desc.TypeID)
		return nil

	case wire.CtlLookup:
		name := args.String()
		if err := args.Done(); err != nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		id, ok := s.named[name]
		if !ok {
			return callError(ErrUnknownObject, "the manager has no object named %q", name)
		}
		obj := s.objects[id]
		if err := s.increfLocked(obj, sess); err != nil {
			return err
		}
		res.Uint64(id)
		res.String(obj.desc.TypeID)
		return nil

	case wire.CtlInfo:
		if err := args.Done(); err != nil {
			return err
		}
		info := s.Info()
		res.Value(&info)
		return nil

	case wire.CtlShutdown:
		if err := args.Done(); err != nil {
			return err
		}
		go s.Shutdown(context.Background())
		return nil
	}
	return callError(ErrUnknownMethod, "the manager has no control method #%d", method)
}

// isNil reports whether v is nil or a nil pointer in an interface.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

func (s *Server) construct(ctx context.Context, desc *TypeDesc, args *Decoder) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &RemoteError{Msg: fmt.Sprintf("constructor of %s panicked: %v", desc.TypeID, p), Sentinel: ErrPanic, Stack: string(debug.Stack())}
		}
	}()
	return desc.New(ctx, args)
}

func (s *Server) expireToken(secret [16]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.tokens[secret]
	if h == nil {
		return
	}
	delete(s.tokens, secret)
	if obj := s.objects[h.objID]; obj != nil {
		obj.tokens--
		s.maybeRemoveLocked(obj)
	}
}

// refEnv of a session: references in arguments and results of its calls.

func (sess *session) codec() Codec { return sess.srv.cdc }

// encodeRef counts a reference for the receiving session before the reply carries it, so
// the client's new proxy owns a reference from the moment it exists.
func (sess *session) encodeRef(h *Handle) (uint64, error) {
	s := sess.srv
	if h.owner != handleOwner(s) {
		return 0, fmt.Errorf("mgr: a proxy to another manager (%s) cannot be stored in this one", h.owner.describe())
	}
	if sess.id == 0 {
		return h.id, nil // the receiving side counts its own reference (decodeRef)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	obj := s.objects[h.id]
	if obj == nil {
		return 0, callError(ErrUnknownObject, "object #%d does not exist", h.id)
	}
	if err := s.increfLocked(obj, sess); err != nil {
		return 0, err
	}
	return h.id, nil
}

// decodeRef makes a proxy the manager itself holds (stored in a shared object): it owns
// a reference of the manager's session, dropped when the proxy is garbage collected.
func (sess *session) decodeRef(id uint64, typeID string) (*Handle, error) {
	s := sess.srv
	s.mu.Lock()
	obj := s.objects[id]
	if obj == nil {
		s.mu.Unlock()
		return nil, callError(ErrUnknownObject, "object #%d does not exist", id)
	}
	if obj.desc.TypeID != typeID {
		s.mu.Unlock()
		return nil, fmt.Errorf("mgr: object #%d is a %s, not a %s", id, obj.desc.TypeID, typeID)
	}
	s.increfLocked(obj, s.internal) // the manager's own session never ends
	s.mu.Unlock()
	h := &Handle{owner: s, id: id, typeID: typeID}
	h.cleanup = runtime.AddCleanup(h, s.dropInternal, id)
	return h, nil
}

func (s *Server) dropInternal(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if obj := s.objects[id]; obj != nil && obj.refs.get(0) > 0 {
		_ = s.decrefLocked(obj, s.internal)
	}
}

func (sess *session) referent(id uint64, typeID string) (any, error) {
	obj := sess.srv.lookup(id)
	if obj == nil {
		return nil, callError(ErrUnknownObject, "argument refers to object #%d, which does not exist", id)
	}
	if obj.desc.TypeID != typeID {
		return nil, fmt.Errorf("mgr: argument refers to a %s, the method takes a %s", obj.desc.TypeID, typeID)
	}
	return obj.value, nil
}

func (sess *session) newObject(typeID string, v any) (uint64, error) {
	desc := LookupType(typeID)
	if desc == nil {
		return 0, callError(ErrUnknownType, "%q is not registered in the manager process", typeID)
	}
	s := sess.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	var holder *session // the manager's own session takes its reference in decodeRef
	if sess.id != 0 {
		holder = sess
	}
	if id, ok := s.byValue[v]; ok {
		if obj := s.objects[id]; obj != nil {
			if holder != nil {
				if err := s.increfLocked(obj, holder); err != nil {
					return 0, err
				}
			}
			return id, nil
		}
	}
	obj, err := s.addObjectLocked(desc, v, holder)
	if err != nil {
		return 0, err
	}
	s.byValue[v] = obj.id
	return obj.id, nil
}

// The manager as the owner of the proxies it holds itself: calls go straight to the
// dispatch table, no socket involved.

func (s *Server) newCall(h *Handle, method int) *Call {
	return &Call{h: h, method: method, Args: Encoder{env: s.internal}}
}

func (s *Server) call(ctx context.Context, c *Call) error {
	var res Encoder
	res.env = s.internal
	dec := Decoder{buf: c.Args.buf, env: s.internal}
	if err := s.dispatch(withCaller(ctx, Caller{}), s.internal, c.h.id, uint64(c.method), &dec, &res); err != nil {
		return err
	}
	if res.err != nil {
		return res.err
	}
	c.res = Decoder{buf: res.buf, env: s.internal}
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
