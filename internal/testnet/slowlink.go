// Package testnet holds network fixtures for the project's tests: real sockets that
// misbehave in controlled ways.
package testnet

import (
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// slowLink is a real socket between a client and a manager that delays everything the
// manager sends by a fixed time: a manager slowed past the client's CancelGrace, as far as
// the client can tell.
type slowLink struct {
	ln            net.Listener
	network, addr string
	delay         time.Duration
	wg            sync.WaitGroup
}

// SlowLink listens on a fresh Unix socket and forwards each connection to the address
// (network, addr), holding back everything the far side sends by delay: a server slowed
// past a client's timeouts, as far as the client can tell. It returns the socket's path
// and closes with the test.
func SlowLink(t testing.TB, network, addr string, delay time.Duration) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "slow.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l := &slowLink{ln: ln, network: network, addr: addr, delay: delay}
	l.wg.Add(1)
	go l.accept()
	t.Cleanup(func() {
		ln.Close()
		l.wg.Wait()
	})
	return path
}

func (l *slowLink) accept() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		m, err := net.Dial(l.network, l.addr)
		if err != nil {
			c.Close()
			continue
		}
		l.wg.Add(2)
		go func() { // client → manager: as it comes
			defer l.wg.Done()
			io.Copy(m, c)
			m.Close()
		}()
		go func() { // manager → client: each chunk held back by the delay, in order
			defer l.wg.Done()
			l.delayed(c, m)
		}()
	}
}

func (l *slowLink) delayed(dst, src net.Conn) {
	type chunk struct {
		due time.Time
		b   []byte
	}
	q := make(chan chunk, 1024)
	go func() {
		defer close(q)
		for {
			b := make([]byte, 64<<10)
			n, err := src.Read(b)
			if n > 0 {
				q <- chunk{time.Now().Add(l.delay), b[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range q {
		time.Sleep(time.Until(c.due)) // the delay is the point of this link
		if _, err := dst.Write(c.b); err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
	for range q {
	}
}
