package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Peer processes.
//
// Every peer is this binary re-executed with roleEnv set. The parent writes the peer's
// configuration as one JSON line on its stdin; the peer answers "ready" on stdout once it
// is set up, waits for a "go" line (so that several peers start their timed windows
// together), and writes its result as one JSON line. A peer exits when its stdin closes:
// when the parent is done with it or has died.

const roleEnv = "MGRBENCH_ROLE"

var roles = map[string]func(cfg json.RawMessage, in *bufio.Reader, out *json.Encoder) error{}

// RunRole runs the peer role this process was started for and exits; in the parent it
// returns at once. cmd/mgrbench calls it right after mgr.RunChild.
func RunRole() {
	role := os.Getenv(roleEnv)
	if role == "" {
		return
	}
	run := roles[role]
	if run == nil {
		fmt.Fprintf(os.Stderr, "mgrbench: unknown role %q\n", role)
		os.Exit(2)
	}
	in := bufio.NewReader(os.Stdin)
	line, err := in.ReadBytes('\n')
	if err != nil {
		fmt.Fprintf(os.Stderr, "mgrbench %s: read config: %v\n", role, err)
		os.Exit(2)
	}
	out := json.NewEncoder(os.Stdout)
	if err := run(json.RawMessage(line), in, out); err != nil {
		fmt.Fprintf(os.Stderr, "mgrbench %s[%d]: %v\n", role, os.Getpid(), err)
		out.Encode(map[string]string{"error": err.Error()})
		os.Exit(1)
	}
	os.Exit(0)
}

// peerSays is what a peer writes: a status word, or a result, or an error.
func ready(out *json.Encoder) error { return out.Encode(map[string]string{"status": "ready"}) }

// waitGo blocks until the parent says go; it returns false if stdin closed instead.
func waitGo(in *bufio.Reader) bool {
	line, err := in.ReadString('\n')
	return err == nil && strings.TrimSpace(line) == "go"
}

// waitEOF blocks until the parent closes the peer's stdin.
func waitEOF(in *bufio.Reader) { io.Copy(io.Discard, in) }

type peer struct {
	role  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *json.Decoder
	once  sync.Once
}

// startPeer starts a peer in role with cfg and waits for its "ready".
func startPeer(role string, cfg any) (*peer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), roleEnv+"="+role)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &peer{role: role, cmd: cmd, stdin: stdin, out: json.NewDecoder(stdout)}
	line, _ := json.Marshal(cfg)
	if _, err := stdin.Write(append(line, '\n')); err != nil {
		p.stop()
		return nil, fmt.Errorf("configure %s peer: %w", role, err)
	}
	var st struct{ Status, Error string }
	if err := p.out.Decode(&st); err != nil || st.Status != "ready" {
		p.stop()
		if st.Error != "" {
			return nil, fmt.Errorf("%s peer: %s", role, st.Error)
		}
		return nil, fmt.Errorf("%s peer did not get ready: %v", role, err)
	}
	return p, nil
}

// startPeers starts n peers of one role concurrently (each gets cfg(i)).
func startPeers(n int, role string, cfg func(i int) any) ([]*peer, error) {
	ps := make([]*peer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ps[i], errs[i] = startPeer(role, cfg(i)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			for _, p := range ps {
				if p != nil {
					p.stop()
				}
			}
			return nil, fmt.Errorf("peer %d: %w", i, err)
		}
	}
	return ps, nil
}

func (p *peer) goNow() error {
	_, err := io.WriteString(p.stdin, "go\n")
	return err
}

// result reads the peer's result line into v.
func (p *peer) result(v any) error {
	var raw json.RawMessage
	if err := p.out.Decode(&raw); err != nil {
		return fmt.Errorf("%s peer: read result: %w", p.role, err)
	}
	var e struct{ Error string }
	if json.Unmarshal(raw, &e) == nil && e.Error != "" {
		return fmt.Errorf("%s peer: %s", p.role, e.Error)
	}
	return json.Unmarshal(raw, v)
}

// stop closes the peer's stdin (its cue to exit) and waits a little before killing it.
func (p *peer) stop() {
	p.once.Do(func() {
		p.stdin.Close()
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			p.cmd.Process.Kill()
			<-done
		}
	})
}

func stopAll(ps []*peer) {
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Go(p.stop)
	}
	wg.Wait()
}
