package testnet

import (
	"io"
	"net"
	"sync"
	"testing"
)

// CutLink forwards connections made to a loopback TCP port to (network, addr), and cuts
// them on demand: a network between a client and a server that breaks at the moments a
// test chooses. Both ends see their connection end, as in a real break of a TCP path
// through a middlebox.
type CutLink struct {
	ln            net.Listener
	network, addr string

	mu    sync.Mutex
	conns map[net.Conn]struct{} // both ends of every forwarded connection
	down  bool                  // refuse (accept and close) new connections
	cuts  int
	wg    sync.WaitGroup
}

// NewCutLink starts a CutLink; it stops with the test.
func NewCutLink(t testing.TB, network, addr string) *CutLink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &CutLink{ln: ln, network: network, addr: addr, conns: map[net.Conn]struct{}{}}
	l.wg.Add(1)
	go l.accept()
	t.Cleanup(func() {
		ln.Close()
		l.Cut()
		l.wg.Wait()
	})
	return l
}

// Addr returns the link's TCP address, host:port.
func (l *CutLink) Addr() string { return l.ln.Addr().String() }

// Cut closes every connection through the link now, and reports how many it cut.
func (l *CutLink) Cut() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.conns) / 2
	for c := range l.conns {
		c.Close()
	}
	clear(l.conns)
	l.cuts += n
	return n
}

// Retarget makes the link forward new connections to (network, addr) from now on: the
// server at the far end was replaced, as a manager restarted on another socket would be.
func (l *CutLink) Retarget(network, addr string) {
	l.mu.Lock()
	l.network, l.addr = network, addr
	l.mu.Unlock()
}

// SetDown makes the link refuse new connections (accepted and closed at once) while
// down is true: a path that stays broken.
func (l *CutLink) SetDown(down bool) {
	l.mu.Lock()
	l.down = down
	l.mu.Unlock()
}

// Cuts returns how many connections the link has cut.
func (l *CutLink) Cuts() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cuts
}

func (l *CutLink) accept() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		down, network, addr := l.down, l.network, l.addr
		l.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		s, err := net.Dial(network, addr)
		if err != nil {
			c.Close()
			continue
		}
		l.mu.Lock()
		l.conns[c], l.conns[s] = struct{}{}, struct{}{}
		l.mu.Unlock()
		l.wg.Add(2)
		go l.pipe(s, c)
		go l.pipe(c, s)
	}
}

func (l *CutLink) pipe(dst, src net.Conn) {
	defer l.wg.Done()
	io.Copy(dst, src)
	dst.Close()
	src.Close()
	l.mu.Lock()
	delete(l.conns, dst)
	delete(l.conns, src)
	l.mu.Unlock()
}
