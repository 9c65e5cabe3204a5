package mgr

import (
	"context"
	"sync"

	"github.com/mgr-go/mgr/internal/wire"
)

// Shutdown stops the manager: it stops accepting connections and calls, ends at once the
// calls that wait (a Queue.Get, a Lock.Acquire: every call that said Blocking), waits for
// the other calls in flight until ctx ends — or, when ctx has no deadline, for
// Options.DrainTimeout — then cancels the calls still running, tells every client the
// manager shut down, and closes their connections. Clients then get ErrShutdown.
// Shutdown is idempotent; every call returns once the first has finished (or its own ctx
// ends).
func (s *Server) Shutdown(ctx context.Context) error {
	return s.shutdown(ctx, "Server.Shutdown was called in the manager process")
}

// shutdown is Shutdown, with why it happens for the clients' error messages.
func (s *Server) shutdown(ctx context.Context, why string) error {
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
	waiting := make([]*session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		waiting = append(waiting, sess)
	}
	s.mu.Unlock()
	// Waits have nothing to drain: end them now (a call that says Blocking from now on
	// ends itself, calls.go).
	for _, sess := range waiting {
		sess.cancelBlocked()
	}

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
			writeGoodbye(sess.w, wire.KindGoodbye, why)
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

// writeGoodbye sends a Goodbye or an Abort, the last frame before the connection closes:
// flushed here, not left to a reply being written at the same time.
func writeGoodbye(w *wire.Writer, kind byte, msg string) {
	e := frameEncoder(make([]byte, 0, 64), kind)
	e.String(msg)
	_ = w.WriteFrameFlushed(e.frame())
}
