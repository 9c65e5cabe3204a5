package mgr

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"runtime/debug"
	"sync"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
)

// Worker processes: Python's Process(target=f, args=(shared_dict, lock)).
//
// A worker is this binary re-executed with MGR_ROLE=worker (see child.go). Besides the
// control pipe (fd 3) and the ready pipe (fd 4) every child has, a worker gets a result
// pipe (fd 5) on which it writes one JSON line, the outcome of its entry function, just
// before it exits. The parent sends the entry's name, the manager's address and authkey,
// and the arguments in the configuration line: plain values encoded with the codec (see
// args.go), proxies as tokens made for this one child. The worker connects to the manager before it says "ok", so a
// worker that cannot reach the manager fails Spawn rather than Wait.

// WorkerFunc is the entry function of a worker process. ctx is cancelled when the
// parent process dies or calls Process.Cancel; w gives the worker its connection to the
// manager and its arguments. A non-nil error (or a panic) makes the worker exit with
// code 1, and Process.Wait in the parent returns the error's message.
type WorkerFunc func(ctx context.Context, w *WorkerEnv) error

// workerGrace is how long a worker's entry function has to return after its ctx is
// cancelled before the worker exits anyway.
const workerGrace = 5 * time.Second

var workers = struct {
	sync.RWMutex
	byName map[string]WorkerFunc
}{byName: map[string]WorkerFunc{}}

func init() {
	roles.Lock()
	roles.byName["worker"] = runWorkerChild
	roles.Unlock()
}

// RegisterWorker registers fn as the worker entry function called name, for Spawn. The
// worker process is this binary started afresh, so it finds fn by name: register from
// an init function (or in main before RunChild), never after RunChild, or the worker
// will not have it. Registering a name again replaces the function.
func RegisterWorker(name string, fn WorkerFunc) {
	if name == "" || fn == nil {
		panic("mgr: RegisterWorker needs a name and a function")
	}
	workers.Lock()
	defer workers.Unlock()
	workers.byName[name] = fn
}

func lookupWorker(name string) WorkerFunc {
	workers.RLock()
	defer workers.RUnlock()
	return workers.byName[name]
}

// workerArg is one Spawn argument on its way to the worker: a token for a proxy, the
// codec's encoding for anything else.
type workerArg struct {
	Token *Token        `json:",omitempty"`
	Value *encodedValue `json:",omitempty"`
}

// workerResult is the line a worker writes on its result pipe before it exits.
type workerResult struct {
	Error    string `json:",omitempty"`
	Sentinel string `json:",omitempty"` // registered sentinel name, for errors.Is
	Stack    string `json:",omitempty"` // the worker's stack, for a panic
}

// Spawn starts a worker process running the entry function registered as name (see
// RegisterWorker) and connected to the same manager as m, and returns once the worker
// is connected. See Client.Spawn for the arguments.
func (m *Manager) Spawn(ctx context.Context, name string, args ...any) (*Process, error) {
	if m.shut.Load() {
		return nil, fmt.Errorf("mgr: spawn worker %q: %w (%s): Manager.Shutdown was called", name, ErrShutdown, m.addr)
	}
	return m.client.Spawn(ctx, name, args...)
}

// Spawn starts a worker process — this binary, re-executed — running the entry function
// registered as name, connected to c's manager with c's address and authkey, and
// returns once the worker is connected. The worker reads args with WorkerArg and
// AttachArg, by position.
//
// An argument that is a proxy (a pointer to a generated XProxy, or anything embedding
// ProxyBase) travels as a Token made for this worker, so the caller may Close its
// proxy as soon as Spawn returns; a Token travels as itself. Anything else is encoded
// with c's Codec, as a Queue[any] would carry it: the worker reads it back as the same
// type with WorkerArg, numbers inside an []any or a map[string]any keep their types, and
// named types inside interfaces must be registered with RegisterValue (from init, so the
// worker has them too). Spawn refuses, naming the argument and its type, what the codec
// cannot carry: funcs, channels, struct types with unexported fields (which it would
// lose), and proxies nested inside a value — pass a proxy as an argument of its own, or
// put it in a shared container, where the manager keeps it as a reference. A token the worker never
// attaches (it died first, or ignored the argument) keeps its object alive until it
// expires (Options.TokenTTL).
//
// The worker dies with this process. Its stdout and stderr are this process's. The
// binary's main must call RunChild first (see the package documentation).
func (c *Client) Spawn(ctx context.Context, name string, args ...any) (*Process, error) {
	if role := os.Getenv(envRole); role != "" {
		return nil, fmt.Errorf("mgr: this process is an mgr %s child but main did not call mgr.RunChild() before Spawn; call it first thing in main", role)
	}
	if lookupWorker(name) == nil {
		return nil, fmt.Errorf("mgr: no worker registered as %q; call mgr.RegisterWorker(%q, fn) from an init function", name, name)
	}
	if c.opts.TLS != nil {
		return nil, errors.New("mgr: Spawn cannot hand a TLS config to a worker process; connect workers over a Unix socket or loopback, or start them yourself and use ConnectFromEnv")
	}
	if err := c.Err(); err != nil {
		return nil, fmt.Errorf("mgr: spawn worker %q: %w", name, err) // before starting anything
	}
	enc := make([]workerArg, len(args))
	var minted []Token // tokens this Spawn made, revoked if it fails
	defer func() {
		for _, tok := range minted {
			c.revoke(tok)
		}
	}()
	for i, a := range args {
		wa, made, err := c.workerArg(ctx, a)
		if made {
			minted = append(minted, *wa.Token)
		}
		if err != nil {
			return nil, fmt.Errorf("mgr: spawn worker %q: argument %d (%T): %w", name, i, a, err)
		}
		enc[i] = wa
	}
	rawArgs, err := json.Marshal(enc)
	if err != nil {
		return nil, fmt.Errorf("mgr: spawn worker %q: %w", name, err)
	}
	cfg := childConfig{
		Role:      "worker",
		Address:   c.addr.String(),
		AuthKey:   c.opts.AuthKey,
		MaxFrame:  c.opts.MaxFrame,
		Handshake: c.opts.HandshakeTimeout,
		Lease:     c.opts.Lease,
		Resume:    c.opts.ResumeWindow,
		Entry:     name,
		Args:      rawArgs,
	}
	if c.cdc != defaultCodec {
		cfg.Codec = c.cdc.Name()
	}
	resR, resW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	child, err := startChildFiles(ctx, cfg, []*os.File{resW})
	// The child holds its own copy of the write end now; ours must go, or the result
	// pipe would never reach EOF.
	resW.Close()
	if err != nil {
		resR.Close()
		return nil, fmt.Errorf("mgr: spawn worker %q: %w", name, err)
	}
	minted = nil // the worker has them now
	p := &Process{name: name, child: child, done: make(chan struct{})}
	go p.reap(resR)
	return p, nil
}

// revoke withdraws a token this client made that will never be attached, so its object
// does not stay alive for the token's whole TTL.
func (c *Client) revoke(tok Token) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.lease())
	defer cancel()
	err := c.control(ctx, wire.CtlRevoke, func(e *Encoder) {
		e.Uint64(tok.ObjectID)
		e.ByteSlice(tok.Secret[:])
		e.Uint64(tok.Epoch)
	}, nil)
	if err != nil {
		c.opts.logAt(slog.LevelWarn, "mgr: revoke token failed", slog.String(LogTypeID, tok.TypeID), slog.Uint64(LogObject, tok.ObjectID), slog.Any(LogErr, err))
	}
}

// workerArg encodes one Spawn argument; made reports that it made a token for it.
func (c *Client) workerArg(ctx context.Context, a any) (wa workerArg, made bool, err error) {
	switch v := a.(type) {
	case Token:
		return workerArg{Token: &v}, false, nil
	case *Token:
		if v == nil {
			return workerArg{}, false, errors.New("nil *Token")
		}
		return workerArg{Token: v}, false, nil
	case Proxy:
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
			return workerArg{}, false, errors.New("nil proxy")
		}
		h := v.mgrBase().h
		if h == nil {
			return workerArg{}, false, errors.New("proxy with no reference (a zero value?)")
		}
		if h.owner != handleOwner(c) {
			return workerArg{}, false, fmt.Errorf("proxy %s#%d belongs to another manager connection (%s)", h.typeID, h.objID(), h.owner.describe())
		}
		tok, err := v.mgrBase().Token(ctx)
		if err != nil {
			return workerArg{}, false, err
		}
		return workerArg{Token: &tok}, true, nil
	}
	ev, err := encodePlain(c.cdc, a)
	if err != nil {
		return workerArg{}, false, err
	}
	return workerArg{Value: &ev}, false, nil
}

// MarshalJSON refuses: a proxy is a reference owned by this process's session, and a
// JSON copy of it would be meaningless elsewhere. Without this a proxy inside a value
// encoded as JSON would silently become {}. Hand proxies to other processes as Tokens,
// Spawn arguments of their own, or values in shared containers.
func (p *ProxyBase) MarshalJSON() ([]byte, error) {
	return nil, errors.New("mgr: a proxy cannot be encoded as JSON; pass it as a Spawn argument of its own or as a Token")
}

// Process is a worker process started by Spawn.
type Process struct {
	name  string
	child *childProc
	done  chan struct{} // closed when the worker has exited and code and err are set
	code  int
	err   error
}

// reap waits for the worker to exit, collects its result line and closes p.done.
func (p *Process) reap(res *os.File) {
	defer res.Close()
	lines := make(chan []byte, 1)
	go func() {
		line, _ := bufio.NewReader(io.LimitReader(res, 1<<20)).ReadBytes('\n')
		lines <- line
	}()
	<-p.child.exited
	p.child.ctl.Close()
	// The worker writes its line before it exits, so the line is in the pipe by now and
	// the read ends at once. The deadline only guards against a grandchild that
	// inherited the pipe keeping it open after a worker died without writing.
	res.SetReadDeadline(time.Now().Add(time.Second))
	line := <-lines

	p.code = p.child.cmd.ProcessState.ExitCode()
	var r workerResult
	if len(line) > 0 && json.Unmarshal(line, &r) == nil && r.Error != "" {
		p.err = &WorkerError{Worker: p.name, PID: p.PID(), ExitCode: p.code, Msg: r.Error,
			Sentinel: lookupSentinel(r.Sentinel), Stack: r.Stack}
	} else if !p.child.cmd.ProcessState.Success() {
		p.err = &WorkerError{Worker: p.name, PID: p.PID(), ExitCode: p.code,
			Msg: p.child.cmd.ProcessState.String()} // "exit status 3", "signal: killed"
	}
	close(p.done)
}

// Name returns the name of the worker's entry function.
func (p *Process) Name() string { return p.name }

// PID returns the worker's process ID.
func (p *Process) PID() int { return p.child.cmd.Process.Pid }

// Done is closed when the worker has exited; Wait then returns at once.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits until the worker exits, or ctx ends, and returns its exit code: 0 when the
// entry function returned nil, 1 when it returned an error or panicked, -1 when the
// worker was killed by a signal. When the worker did not succeed, err is a *WorkerError
// carrying the entry function's error message (and errors.Is works with sentinels
// registered with RegisterError). If ctx ends first, Wait returns -1 and ctx's error and
// leaves the worker running. Wait may be called any number of times.
func (p *Process) Wait(ctx context.Context) (exitCode int, err error) {
	select {
	case <-p.done:
		return p.code, p.err
	case <-ctx.Done():
		return -1, fmt.Errorf("mgr: waiting for worker %q (pid %d): %w", p.name, p.PID(), ctx.Err())
	}
}

// Cancel asks the worker to stop: it cancels the ctx of the worker's entry function,
// which then has a few seconds to return before the worker exits anyway. Wait to see it
// go.
func (p *Process) Cancel() {
	p.child.ctl.Close()
}

// Kill kills the worker at once (SIGKILL); the manager drops the references it held.
// Killing a worker that has exited does nothing.
func (p *Process) Kill() error {
	// Signal first: closing the control pipe first would let the worker see its parent
	// "die" and exit on its own before the signal lands.
	err := p.child.cmd.Process.Kill()
	p.child.ctl.Close()
	if err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// WorkerError is how Process.Wait reports a worker that did not succeed: its entry
// function returned an error or panicked, or the process failed or was killed.
type WorkerError struct {
	// Worker is the entry function's registered name.
	Worker string
	// PID is the worker's process ID.
	PID int
	// ExitCode is the worker's exit code, -1 if a signal killed it.
	ExitCode int
	// Msg is the entry function's error message, or how the process ended.
	Msg string
	// Sentinel is the registered sentinel error (RegisterError) that the entry
	// function's error matched, or nil.
	Sentinel error
	// Stack is the worker's stack when the entry function panicked.
	Stack string
}

// Error returns "worker <name> (pid <pid>): <message>".
func (e *WorkerError) Error() string {
	return fmt.Sprintf("worker %s (pid %d): %s", e.Worker, e.PID, e.Msg)
}

// Unwrap returns the matched sentinel, if any.
func (e *WorkerError) Unwrap() error { return e.Sentinel }

// WorkerEnv is what a worker's entry function gets: its connection to the manager and
// the arguments Spawn was given.
type WorkerEnv struct {
	name   string
	client *Client
	args   []workerArg

	mu       sync.Mutex
	attached map[int]any // proxies AttachArg made, by argument index
}

// Name returns the name the worker was registered and spawned as.
func (w *WorkerEnv) Name() string { return w.name }

// Client returns the worker's session with the manager, connected with the address and
// authkey of the Client that spawned it. The worker closes it after the entry function
// returns, which drops every reference the worker still holds.
func (w *WorkerEnv) Client() *Client { return w.client }

// NumArgs returns how many arguments Spawn was given.
func (w *WorkerEnv) NumArgs() int { return len(w.args) }

func (w *WorkerEnv) arg(i int) (workerArg, error) {
	if i < 0 || i >= len(w.args) {
		return workerArg{}, fmt.Errorf("mgr: worker %q has %d arguments, not an argument %d", w.name, len(w.args), i)
	}
	return w.args[i], nil
}

// Token returns argument i as a Token: it was a proxy or a Token in the parent.
func (w *WorkerEnv) Token(i int) (Token, error) {
	a, err := w.arg(i)
	if err != nil {
		return Token{}, err
	}
	if a.Token == nil {
		return Token{}, fmt.Errorf("mgr: argument %d of worker %q is a plain value, not a proxy; use mgr.WorkerArg", i, w.name)
	}
	return *a.Token, nil
}

// WorkerArg decodes plain argument i of a worker into a T. T must be the type the
// argument had in Spawn (a signed or unsigned integer may be read as another of its
// kind, within range), or an interface the argument's type implements; for an
// interface such as any, the argument's type must be one an interface may hold in mgr
// (basic types, []any, map[string]any, time.Time, or a type registered with
// RegisterValue). A mismatch is an error naming both types. Proxy arguments are read
// with AttachArg.
func WorkerArg[T any](w *WorkerEnv, i int) (T, error) {
	var v T
	a, err := w.arg(i)
	if err != nil {
		return v, err
	}
	if a.Token != nil {
		return v, fmt.Errorf("mgr: argument %d of worker %q is a proxy (%s); use mgr.AttachArg", i, w.name, a.Token.TypeID)
	}
	var ev encodedValue
	if a.Value != nil {
		ev = *a.Value
	}
	rv, err := decodePlain(w.client.cdc, ev, reflect.TypeFor[T](), fmt.Sprintf("argument %d of worker %q", i, w.name))
	if err != nil {
		return v, err
	}
	reflect.ValueOf(&v).Elem().Set(rv) // not rv.Interface().(T): a nil any would panic
	return v, nil
}

// AttachArg returns proxy argument i of a worker, attached with attach — the generated
// AttachX function of the proxy's type, which checks the object's type:
//
//	counter, err := mgr.AttachArg(ctx, w, 0, AttachCounter)
//
// A token attaches once, so AttachArg remembers the proxy and returns the same one when
// asked again. Proxies are owned by the worker's session: the worker may Close them,
// and whatever it still holds is released when it exits.
func AttachArg[P Proxy](ctx context.Context, w *WorkerEnv, i int, attach func(context.Context, *Client, Token) (P, error)) (P, error) {
	var zero P
	tok, err := w.Token(i)
	if err != nil {
		return zero, err
	}
	// Held across attach so two goroutines asking for one argument do not both spend
	// its single-use token.
	w.mu.Lock()
	defer w.mu.Unlock()
	if prev, ok := w.attached[i]; ok {
		p, ok := prev.(P)
		if !ok {
			return zero, fmt.Errorf("mgr: argument %d of worker %q was attached as %T, not %T", i, w.name, prev, zero)
		}
		return p, nil
	}
	p, err := attach(ctx, w.client, tok)
	if err != nil {
		return zero, fmt.Errorf("mgr: attach argument %d of worker %q: %w", i, w.name, err)
	}
	if w.attached == nil {
		w.attached = map[int]any{}
	}
	w.attached[i] = p
	return p, nil
}

// runWorkerChild is the "worker" role: connect, say ready, run the entry function and
// report how it went.
func runWorkerChild(cfg *childConfig, ctl io.Reader, ready io.WriteCloser) int {
	// Programs the worker starts must not inherit the pipes: a grandchild holding the
	// result pipe would keep the parent from seeing it end.
	closeOnExec(5) // RunChild did 3 and 4
	result := os.NewFile(5, "mgr-result")
	fail := func(format string, args ...any) int {
		fmt.Fprintf(ready, "error: "+format+"\n", args...)
		return 2
	}
	fn := lookupWorker(cfg.Entry)
	if fn == nil {
		return fail("no worker registered as %q in the worker process; call mgr.RegisterWorker from an init function, not after mgr.RunChild", cfg.Entry)
	}
	var args []workerArg
	if len(cfg.Args) > 0 {
		if err := json.Unmarshal(cfg.Args, &args); err != nil {
			return fail("decode arguments: %v", err)
		}
	}
	opts, err := cfg.options()
	if err != nil {
		return fail("%v", err)
	}
	client, err := Connect(context.Background(), opts)
	if err != nil {
		return fail("connect to the manager: %v", err)
	}
	defer client.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gone := watchParent(ctl)
	go func() {
		<-gone
		cancel()
	}()
	fmt.Fprintln(ready, "ok")
	ready.Close()

	w := &WorkerEnv{name: cfg.Entry, client: client, args: args}
	done := make(chan workerResult, 1)
	go func() {
		var r workerResult
		defer func() {
			if v := recover(); v != nil {
				r = workerResult{Error: fmt.Sprintf("panic: %v", v), Stack: string(debug.Stack())}
			}
			done <- r
		}()
		if err := fn(ctx, w); err != nil {
			r = workerResult{Error: err.Error(), Sentinel: sentinelName(err)}
		}
	}()
	var r workerResult
	select {
	case r = <-done:
	case <-ctx.Done():
		select {
		case r = <-done:
		case <-time.After(workerGrace):
			r = workerResult{Error: fmt.Sprintf("did not return within %v of being cancelled", workerGrace)}
		}
	}
	line, _ := json.Marshal(r)
	result.Write(append(line, '\n')) // the parent may be gone; nothing to do about it
	if r.Error != "" {
		return 1
	}
	return 0
}
