package mgr

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
)

// Options configure a manager and the clients that connect to it. The zero value is
// usable; an empty AuthKey is filled with 32 random bytes where the runtime chooses the
// address (child-process and in-process managers) and is an error elsewhere.
type Options struct {
	// AuthKey is the shared secret both sides prove they hold (HMAC-SHA256).
	AuthKey []byte
	// Address to listen on or connect to. Empty means a fresh private Unix socket.
	Address Address
	// Python, if set, is a second address where the manager serves CPython's
	// multiprocessing clients (Server.ServePython), on the same objects; StartInProcess
	// and ServeForever honour it.
	Python Address
	// Codec for values the generated code does not spell out; nil means BinaryCodec.
	Codec Codec
	// MaxFrame bounds every frame's payload; 0 means 16 MiB, and more than 2 GiB - 1 (what
	// a frame's length prefix can say) means 2 GiB - 1. A client tells the manager its
	// own bound, and a reply larger than either side's fails its call with
	// ErrFrameTooLarge; the session goes on.
	MaxFrame int
	// SpinWait is how long a reader whose peer has been answering quickly polls its
	// socket for the next frame before it parks (spin.go): parking and being woken costs
	// more than a fast peer's whole answer on a small machine. 0 means 20 µs; negative
	// never polls. Polling is adaptive (a reader whose peer stops answering within the
	// window parks from then on) and bounded (half the Ps' worth of readers at once), and
	// off when the process has one P.
	SpinWait time.Duration
	// HandshakeTimeout bounds the handshake; 0 means 10 s. A peer that connects and says
	// nothing is dropped after it.
	HandshakeTimeout time.Duration
	// Lease is how long a session survives without hearing from its client (clients ping
	// at a third of it); 0 means 30 s.
	Lease time.Duration
	// TokenTTL is how long an unclaimed token keeps its object alive; 0 means 5 minutes.
	TokenTTL time.Duration
	// DrainTimeout bounds how long Shutdown waits for running calls when its context has
	// no deadline (a deadline wins, longer or shorter); 0 means 5 s. Calls that wait (they
	// said Blocking: a Queue.Get, a Lock.Acquire) are not drained but ended at once.
	DrainTimeout time.Duration
	// CancelGrace is how long after its ctx ended a call whose method ignores the
	// cancellation goes on waiting for the reply; 0 means 1 s. The caller gives up only
	// once the manager has acknowledged the cancel (the call still ran: a reply already
	// sent is returned), and a reply that comes later is undone in the manager (see Undo),
	// so no outcome is lost to a cancellation however long the grace.
	CancelGrace time.Duration
	// ResumeWindow is how long a session outlives a broken connection: the client redials
	// (with backoff) and resumes it — references, lock ownership, queue claims, waiters and
	// calls in flight all survive, and each call completes exactly once — if it gets
	// through within the window; after it, the manager ends the session and the client's
	// calls fail with ErrConnLost. 0 means 10 s; negative disables resuming (a break ends
	// the session at once). A clean Close, and a client process the manager sees die (on a
	// Unix socket), end the session at once whatever the window. The manager's and the
	// client's windows are each their own side's.
	ResumeWindow time.Duration
	// Failover lists other managers that serve the same objects (managers sharing a
	// Backend, such as runtime/etcd's). When the connection breaks and Address does not
	// answer, the client redials these in turn; one that shares the session's store
	// adopts the session: the client goes on with a new session there (as after a
	// restart: calls in flight fail with ErrManagerRestarted, proxies made before are
	// stale, look objects up again), and what the old session held in the store — its
	// locks, its queue claims — is the new session's.
	Failover []Address
	// OnState, if set, is told when a client's connection changes state, in order:
	// Disconnected (with why), Resumed, Restarted (the manager restarted: earlier proxies
	// are stale), Connected, Closed (with Client.Err). It is called from the client's own
	// goroutines, and must return promptly (hand the news to a channel).
	OnState func(state ConnState, err error)
	// TLS, if set, wraps connections in TLS (a server config on the manager, a client
	// config on clients).
	TLS *tls.Config
	// Initializer names a function registered with RegisterInitializer or
	// RegisterInitializerOf that a manager runs before it accepts connections (Python's
	// start(initializer, initargs)).
	Initializer string
	// InitArg is the argument of an Initializer registered with RegisterInitializerOf[A]:
	// an A, encoded with the codec on its way to a child-process manager (see
	// RegisterInitializerOf). Nil means none; an initializer registered with
	// RegisterInitializer takes none.
	InitArg any
	// Logger receives what the manager and its clients report (failed handshakes, ended
	// sessions and why, locks abandoned by sessions that died holding them, slow calls),
	// as structured records (see the Log* attribute keys); nil means silent. A
	// child-process manager (Start) sends its records back to this process, whose Logger
	// handles them (with a manager_pid attribute). A child that cannot serve at all still
	// says why on stderr before it exits.
	Logger *slog.Logger
	// SlowCall, if positive, makes the manager and clients log (at Warn) every method
	// call that takes longer than it, with its type, object, method, session and
	// duration. It costs two clock readings a call, and nothing when zero.
	SlowCall time.Duration
	// ClientInterceptors wrap every method call a client of these options makes (see
	// Interceptor), the first outermost.
	ClientInterceptors []Interceptor
	// ServerInterceptors wrap every method call a manager of these options runs, the
	// first outermost. A child-process manager (Start) cannot be handed funcs: add its
	// interceptors with Server.Intercept from its Initializer (Start refuses this field).
	ServerInterceptors []Interceptor
	// PageAddress, if set, serves the manager's live page (Server.Handler) on this
	// loopback address (127.0.0.1:PORT, [::1]:PORT or localhost:PORT; port 0 picks one,
	// see Server.PageAddr and Manager.PageURL), and turns CallStats on. Access needs
	// the page token (PageToken).
	PageAddress string
	// CallStats makes the manager count calls and their durations per method
	// (Server.MethodStats, the live page's rates and latencies): a clock reading and an
	// atomic add or two per call.
	CallStats bool
	// Logf receives the same records as Logger, each formatted as one line (its message
	// and key=value attributes), when Logger is nil.
	//
	// Deprecated: use Logger.
	Logf func(format string, args ...any)

	// childGoneGrace, for tests, replaces childGoneGrace: how long a Start-ed manager's
	// client reads to the end of its connection after the child process exited.
	childGoneGrace time.Duration
}

func (o *Options) maxFrame() int {
	if o.MaxFrame > 0 {
		return min(o.MaxFrame, wire.MaxFrameLimit)
	}
	return wire.DefaultMaxFrame
}

func (o *Options) handshakeTimeout() time.Duration {
	if o.HandshakeTimeout > 0 {
		return o.HandshakeTimeout
	}
	return 10 * time.Second
}

func (o *Options) lease() time.Duration {
	if o.Lease > 0 {
		return o.Lease
	}
	return 30 * time.Second
}

func (o *Options) tokenTTL() time.Duration {
	if o.TokenTTL > 0 {
		return o.TokenTTL
	}
	return 5 * time.Minute
}

func (o *Options) drainTimeout() time.Duration {
	if o.DrainTimeout > 0 {
		return o.DrainTimeout
	}
	return 5 * time.Second
}

func (o *Options) resumeWindow() time.Duration {
	switch {
	case o.ResumeWindow > 0:
		return o.ResumeWindow
	case o.ResumeWindow < 0:
		return 0
	}
	return 10 * time.Second
}

func (o *Options) cancelGrace() time.Duration {
	if o.CancelGrace > 0 {
		return o.CancelGrace
	}
	return time.Second
}

func (o *Options) codec() Codec {
	if o.Codec != nil {
		return o.Codec
	}
	return defaultCodec
}
