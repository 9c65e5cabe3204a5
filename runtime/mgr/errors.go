package mgr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/mgr-go/mgr/internal/wire"
)

// Errors the runtime reports. Each is distinct and can be tested with errors.Is; the
// error a call returns wraps one of them and says which object, method or address.
var (
	// ErrUnknownObject: the object ID is not in the manager's table (never existed, or was
	// removed when its last reference went).
	ErrUnknownObject = errors.New("mgr: unknown object")
	// ErrUnknownMethod: the manager's type has no exposed method of that name (it is not
	// exposed, or the manager was built from a version of the type without it).
	ErrUnknownMethod = errors.New("mgr: unknown method")
	// ErrSignature: the manager's type has the method, with other parameter or result
	// types than this program's: the two were built from different versions of the type.
	// The error names both signatures.
	ErrSignature = errors.New("mgr: method signature differs")
	// ErrUnknownType: the manager has no registered type with that TypeID.
	ErrUnknownType = errors.New("mgr: unknown type")
	// ErrReleased: the proxy was released; it cannot be used any more.
	ErrReleased = errors.New("mgr: proxy released")
	// ErrShutdown: the manager shut down (or is shutting down) and refuses the call.
	ErrShutdown = errors.New("mgr: manager shut down")
	// ErrConnLost: the connection to the manager broke (the manager died, or the network
	// failed) before the reply arrived.
	ErrConnLost = errors.New("mgr: connection to manager lost")
	// ErrConnect: Connect (or Start, or a worker) could not reach the manager: nothing
	// listens at the address, the network is unreachable, permission was denied. The
	// error wraps the dialer's too (a *net.OpError; errors.Is(err, syscall.ECONNREFUSED)
	// works). It is not ErrConnLost: there was never a connection to lose.
	ErrConnect = errors.New("mgr: could not connect to manager")
	// ErrClientClosed: the Client (or the Manager it belongs to) was closed by this
	// process; calls through it and its proxies fail with it.
	ErrClientClosed = errors.New("mgr: client closed")
	// ErrAuth: the handshake failed because one side does not hold the authkey.
	ErrAuth = wire.ErrAuth
	// ErrVersion: the peer speaks an incompatible protocol version or codec.
	ErrVersion = wire.ErrVersion
	// ErrHandshake: the handshake broke off or was malformed.
	ErrHandshake = wire.ErrHandshake
	// ErrPanic: the method panicked in the manager; the RemoteError carries the stack.
	ErrPanic = errors.New("mgr: method panicked")
	// ErrBadToken: a token is malformed, already used, expired, or for another manager.
	ErrBadToken = errors.New("mgr: invalid token")
	// ErrWrongType: a token or a named instance refers to an object of another type than
	// the one the caller asked for (AttachT or LookupT with the wrong T).
	ErrWrongType = errors.New("mgr: object is of another type")
	// ErrFrameTooLarge: a frame is larger than the configured maximum.
	ErrFrameTooLarge = wire.ErrFrameTooLarge
)

// RemoteError is an error that happened in the manager while running a method. Its
// message is the method's error message; Unwrap yields the registered sentinel it matched
// there (so errors.Is works across processes), and for panics Stack holds the manager's
// goroutine stack.
type RemoteError struct {
	// Msg is the error's message as the method returned it.
	Msg string
	// Sentinel is the registered sentinel the manager matched with errors.Is, or nil.
	Sentinel error
	// Stack is the manager's stack for a panic, empty otherwise.
	Stack string
}

// Error returns the method's message.
func (e *RemoteError) Error() string { return e.Msg }

// Unwrap returns the matched sentinel, if any.
func (e *RemoteError) Unwrap() error { return e.Sentinel }

var sentinels struct {
	sync.RWMutex
	byName map[string]error
	names  []string // registration order, for a deterministic match
}

func init() {
	for name, err := range map[string]error{
		"mgr.ErrUnknownObject": ErrUnknownObject, "mgr.ErrUnknownMethod": ErrUnknownMethod,
		"mgr.ErrUnknownType": ErrUnknownType, "mgr.ErrReleased": ErrReleased,
		"mgr.ErrShutdown": ErrShutdown, "mgr.ErrConnect": ErrConnect, "mgr.ErrPanic": ErrPanic, "mgr.ErrBadToken": ErrBadToken,
		"mgr.ErrDecode": ErrDecode, "mgr.ErrWrongType": ErrWrongType,
		"mgr.ErrConnLost": ErrConnLost, "mgr.ErrFrameTooLarge": ErrFrameTooLarge,
		"mgr.ErrClientClosed": ErrClientClosed, "mgr.ErrSignature": ErrSignature,
		// A method that gives up because the call's (forwarded) deadline passed or the
		// caller cancelled reports ctx.Err(); the caller can test for it.
		"context.Canceled": context.Canceled, "context.DeadlineExceeded": context.DeadlineExceeded,
		// Standard library sentinels methods commonly return.
		"io.EOF": io.EOF, "io.ErrUnexpectedEOF": io.ErrUnexpectedEOF, "io.ErrShortWrite": io.ErrShortWrite,
		"io.ErrClosedPipe": io.ErrClosedPipe, "os.ErrNotExist": os.ErrNotExist, "os.ErrExist": os.ErrExist,
		"os.ErrPermission": os.ErrPermission, "os.ErrClosed": os.ErrClosed, "os.ErrDeadlineExceeded": os.ErrDeadlineExceeded,
		"net.ErrClosed": net.ErrClosed, "strconv.ErrRange": strconv.ErrRange, "strconv.ErrSyntax": strconv.ErrSyntax,
	} {
		RegisterError(name, err)
	}
}

// RegisterError makes a sentinel error keep its identity across processes: when a method
// returns an error e with errors.Is(e, err), the caller's error also satisfies
// errors.Is(…, err). Register the same name and value in every process, from init.
// mgrgen registers the exported Err* variables of packages with exposed types.
func RegisterError(name string, err error) {
	sentinels.Lock()
	defer sentinels.Unlock()
	if sentinels.byName == nil {
		sentinels.byName = map[string]error{}
	}
	if _, ok := sentinels.byName[name]; !ok {
		sentinels.names = append(sentinels.names, name)
	}
	sentinels.byName[name] = err
}

// sentinelName returns the name of the most recently registered sentinel err matches
// (the latest is the most specific: user sentinels come after the runtime's), or "".
func sentinelName(err error) string {
	sentinels.RLock()
	defer sentinels.RUnlock()
	for i := len(sentinels.names) - 1; i >= 0; i-- {
		if errors.Is(err, sentinels.byName[sentinels.names[i]]) {
			return sentinels.names[i]
		}
	}
	return ""
}

func lookupSentinel(name string) error {
	if name == "" {
		return nil
	}
	sentinels.RLock()
	defer sentinels.RUnlock()
	return sentinels.byName[name]
}

func newRemoteError(msg, sentinel, stack string) error {
	return &RemoteError{Msg: msg, Sentinel: lookupSentinel(sentinel), Stack: stack}
}

// callError is the error of a call that failed in the runtime rather than in the method:
// it names the object and method and wraps the runtime sentinel.
func callError(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}

// panicSite returns " at file:line" for the frame that panicked, or "" when it cannot be
// told: the first frame past runtime.gopanic outside package runtime (an index out of
// range panics in runtime.goPanicIndex and a nil dereference in runtime.sigpanic, both
// called from the line at fault). Call it from the deferred function that recovers.
func panicSite() string {
	var pcs [64]uintptr
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs[:])])
	past := false
	for {
		f, more := frames.Next()
		if past && !strings.HasPrefix(f.Function, "runtime.") && f.File != "" {
			return fmt.Sprintf(" at %s:%d", f.File, f.Line)
		}
		past = past || f.Function == "runtime.gopanic"
		if !more {
			return ""
		}
	}
}
