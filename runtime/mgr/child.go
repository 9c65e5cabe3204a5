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
	"os/exec"
	"strings"
	"sync"
	"time"
)

// How child processes work.
//
// A child is this binary re-executed with MGR_ROLE set. Two pipes join it to its parent:
// the control pipe (the child's fd 3), on which the parent writes one JSON line of
// configuration and then keeps its end open, and the ready pipe (fd 4), on which the child
// answers "ok" or "error: ..." once it is ready. The child reads the control pipe to its
// end: when the parent dies, however it dies, the kernel closes the parent's end and the
// child sees EOF and exits. Secrets (the authkey) travel in the pipe, not in the
// environment or the command line, where other users could read them.

const envRole = "MGR_ROLE"

// childConfig is the configuration line a parent sends to a child.
type childConfig struct {
	Role        string
	Address     string
	AuthKey     []byte
	MaxFrame    int           `json:",omitempty"`
	Handshake   time.Duration `json:",omitempty"`
	Lease       time.Duration `json:",omitempty"`
	TokenTTL    time.Duration `json:",omitempty"`
	Drain       time.Duration `json:",omitempty"`
	Resume      time.Duration `json:",omitempty"`
	Initializer string        `json:",omitempty"`
	InitArg     *encodedValue `json:",omitempty"` // Options.InitArg, encoded (see args.go)
	Codec       string        `json:",omitempty"`
	// Log says the parent has an Options.Logger (or Logf): a manager child writes its
	// records on fd 5 as JSON lines, at LogLevel and above, and the parent hands them to
	// its Logger (log.go). Without it they are discarded, as Options.Logger says.
	Log      bool          `json:",omitempty"`
	LogLevel slog.Level    `json:",omitempty"`
	SlowCall time.Duration `json:",omitempty"`
	// The live page (page.go): its address, and call statistics without it.
	PageAddress string `json:",omitempty"`
	CallStats   bool   `json:",omitempty"`
	// Worker entries (see worker.go).
	Entry string          `json:",omitempty"`
	Args  json.RawMessage `json:",omitempty"`
}

func (cfg *childConfig) options() (Options, error) {
	addr, err := ParseAddress(cfg.Address)
	if err != nil {
		return Options{}, err
	}
	opts := Options{
		Address: addr, AuthKey: cfg.AuthKey, MaxFrame: cfg.MaxFrame, HandshakeTimeout: cfg.Handshake,
		Lease: cfg.Lease, TokenTTL: cfg.TokenTTL, DrainTimeout: cfg.Drain, Initializer: cfg.Initializer,
		ResumeWindow: cfg.Resume, SlowCall: cfg.SlowCall, PageAddress: cfg.PageAddress, CallStats: cfg.CallStats,
	}
	if cfg.Codec != "" {
		opts.Codec = lookupCodec(cfg.Codec)
		if opts.Codec == nil {
			return Options{}, fmt.Errorf("codec %q is not registered in the child", cfg.Codec)
		}
	}
	return opts, nil
}

// childProc is a started child as its parent sees it.
type childProc struct {
	cmd     *exec.Cmd
	ctl     *os.File // our end of the control pipe; closing it tells the child to exit
	exited  chan struct{}
	waitErr error
}

// startChildFiles starts this binary as a child with cfg, handing it files from fd 5 on
// (a worker's result pipe, a manager's log pipe), and waits until it is ready.
func startChildFiles(ctx context.Context, cfg childConfig, files []*os.File, extraEnv ...string) (*childProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("mgr: find this binary to start a child: %w", err)
	}
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return nil, err
	}
	defer readyR.Close()
	cmd := exec.Command(exe)
	cmd.Args = []string{os.Args[0]}
	cmd.Env = append(append(os.Environ(), envRole+"="+cfg.Role), extraEnv...)
	cmd.ExtraFiles = append([]*os.File{ctlR, readyW}, files...)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	err = cmd.Start()
	ctlR.Close()
	readyW.Close()
	if err != nil {
		ctlW.Close()
		return nil, fmt.Errorf("mgr: start %s child: %w", cfg.Role, err)
	}
	p := &childProc{cmd: cmd, ctl: ctlW, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()

	line, err := json.Marshal(cfg)
	if err == nil {
		_, err = ctlW.Write(append(line, '\n'))
	}
	if err != nil {
		p.kill()
		return nil, fmt.Errorf("mgr: configure %s child: %w", cfg.Role, err)
	}

	ready := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(readyR, 4096))
		ready <- strings.TrimSpace(string(b))
	}()
	select {
	case msg := <-ready:
		switch {
		case msg == "ok":
			return p, nil
		case strings.HasPrefix(msg, "error: "):
			p.kill()
			return nil, fmt.Errorf("mgr: %s child failed to start: %s", cfg.Role, msg[len("error: "):])
		default:
			p.kill()
			<-p.exited
			return nil, fmt.Errorf("mgr: %s child exited before it was ready (%v); does main call mgr.RunChild() first?", cfg.Role, p.waitErr)
		}
	case <-ctx.Done():
		p.kill()
		return nil, fmt.Errorf("mgr: waiting for %s child: %w", cfg.Role, ctx.Err())
	}
}

func (p *childProc) kill() {
	p.cmd.Process.Kill()
	p.ctl.Close()
}

// wait closes the control pipe (the child's cue to exit) and waits for the exit until
// ctx ends, then kills the child.
func (p *childProc) wait(ctx context.Context) error {
	p.ctl.Close()
	select {
	case <-p.exited:
	case <-ctx.Done():
		p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("mgr: child %d did not exit in time and was killed", p.cmd.Process.Pid)
	}
	var ee *exec.ExitError
	if p.waitErr != nil && !errors.As(p.waitErr, &ee) {
		return p.waitErr
	}
	return nil
}

// roles maps MGR_ROLE values to what the child runs; the function returns the exit code.
var roles = struct {
	sync.RWMutex
	byName map[string]func(cfg *childConfig, ctl io.Reader, ready io.WriteCloser) int
}{byName: map[string]func(*childConfig, io.Reader, io.WriteCloser) int{"manager": runManagerChild}}

// RunChild must be called first thing in main (and in TestMain of tests that start
// managers or workers). In the parent it returns at once. In a child that mgr started it
// runs the child's role — a manager, or a worker's entry function — and exits the
// process: the code after RunChild runs only in the parent.
func RunChild() {
	role := os.Getenv(envRole)
	if role == "" {
		return
	}
	roles.RLock()
	run := roles.byName[role]
	roles.RUnlock()
	ctl := os.NewFile(3, "mgr-control")
	ready := os.NewFile(4, "mgr-ready")
	if run == nil || ctl == nil || ready == nil {
		fmt.Fprintf(os.Stderr, "mgr: %s=%q is not a role this binary can run (was it started by mgr?)\n", envRole, role)
		os.Exit(2)
	}
	// Programs the child starts (an initializer's, a method's) must not inherit the pipes:
	// one holding the ready pipe would keep Start waiting for that program to end.
	closeOnExec(3, 4)
	br := bufio.NewReader(ctl)
	line, err := br.ReadBytes('\n')
	var cfg childConfig
	if err == nil {
		err = json.Unmarshal(line, &cfg)
	}
	if err != nil {
		fmt.Fprintf(ready, "error: read configuration: %v\n", err)
		os.Exit(2)
	}
	os.Unsetenv(envRole) // children of this child are not children of mgr's making
	os.Exit(run(&cfg, br, ready))
}

// watchParent returns a channel closed when the parent's end of the control pipe closes:
// the parent died or asked us to exit.
func watchParent(ctl io.Reader) <-chan struct{} {
	gone := make(chan struct{})
	go func() {
		io.Copy(io.Discard, ctl)
		close(gone)
	}()
	return gone
}

func runManagerChild(cfg *childConfig, ctl io.Reader, ready io.WriteCloser) int {
	opts, err := cfg.options()
	if err != nil {
		fmt.Fprintf(ready, "error: %v\n", err)
		return 2
	}
	if cfg.Log {
		closeOnExec(5)
		opts.Logger = childLogger(newLogPipe(os.NewFile(5, "mgr-log")), cfg.LogLevel) // log.go: never waits for the parent
	}
	srv, ln, err := listenAndInit(opts, cfg.InitArg)
	if err != nil {
		fmt.Fprintf(ready, "error: %v\n", err)
		return 2
	}
	gone := watchParent(ctl)
	go func() {
		<-gone
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	fmt.Fprintln(ready, "ok")
	ready.Close()
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintf(os.Stderr, "mgr manager[%d]: %v\n", os.Getpid(), err)
		return 1
	}
	<-srv.Done()
	return 0
}
