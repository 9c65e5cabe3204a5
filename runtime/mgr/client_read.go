package mgr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
)

// Reading replies: the caller reads its own.
//
// A client with a reading goroutine of its own pays a goroutine hand-off on every call:
// the reader gets the reply and must wake the caller, which on a multi-core machine
// wakes a second OS thread — about a third of a small call's latency. So there is no
// permanent reader. A caller that has sent its call takes the reading role (readTok) if
// nobody holds it, and reads frames — handing any other call's reply to its caller —
// until its own reply comes; then it passes the role on: to a caller waiting for it,
// if there is one (Go's channel hands the token straight over), or to nobody. A
// sequential caller therefore reads its reply itself, exactly like a raw socket
// ping-pong; under concurrency the role rotates among the callers (leader/followers).
//
// Someone must still read when no call is in flight, to see a Goodbye, an Abort, a pong
// or the connection dropping: keepAlive checks every idleReadEvery and, when the role is
// free with no call pending, starts the idle reader, which holds the role until it has
// handed over one reply (the next caller then reads its own again). A timer re-armed
// per call would do it sooner, but arming a timer wakes another thread too — the very
// cost this avoids.
//
// A caller whose ctx ends while it reads must stop reading to send its Cancel: a read
// deadline set from context.AfterFunc (interrupt) wakes it, and wire.Reader keeps any
// part of a frame read so far for the next reader.

// idleReadEvery is how often keepAlive looks for a connection nobody reads: the longest a
// client with no call in flight takes to notice a dropped connection or a Goodbye.
const idleReadEvery = 250 * time.Millisecond

// largeWrite is the call size beyond which the caller makes sure someone reads before
// it writes (startIdleReader): a Unix socket buffers a few hundred KiB each way.
const largeWrite = 64 << 10

// await waits for the reply to call, reading frames itself when nobody else is. When
// ctx ends first it asks the manager to end the call and waits for the manager's word:
// the call may have finished before the cancellation reached it (a Queue.Get that took
// an item, a lock granted), and dropping that reply would lose what it did. The manager
// answers either with the reply — which is then what the call returns — or with a
// CancelAck saying the call still runs; only then may the caller give up, once
// Options.CancelGrace has passed since the cancel, and a reply that comes after that is
// rejected, so the manager undoes what it did (calls.go). A manager that says neither
// is one the lease will declare lost. A call made while the connection is down has not
// been sent, so nothing can have come of it: its caller gives up at once (dropUnsent).
// One sent before the break waits for the resume, whose replayed replies say what came
// of it, or for the resume window to pass.
func (c *Client) await(ctx context.Context, call *Call) error {
	done := ctx.Done()
	var (
		cancelled bool        // Cancel sent
		acked     bool        // the manager said the call still runs
		until     time.Time   // end of the grace, once cancelled
		grace     *time.Timer // fires at until
		graceC    <-chan time.Time
		ackC      <-chan struct{} // call.ack once cancelled: a nil channel costs select nothing
	)
	// giveUp abandons the call when both the acknowledgement and the grace are in.
	giveUp := func() (error, bool) {
		if !acked || time.Now().Before(until) {
			return nil, false
		}
		return c.abandon(ctx, call)
	}
	for {
		select {
		case <-call.done:
			if grace != nil {
				grace.Stop()
			}
			if cancelled {
				c.explainCancel(ctx, call)
			}
			return call.err
		case <-ackC:
			acked = true
			if err, gaveUp := giveUp(); gaveUp {
				grace.Stop()
				return err
			}
		case c.readTok <- struct{}{}:
			switch {
			case !cancelled:
				c.lead(call, ctx, time.Time{})
			case acked && time.Now().Before(until):
				c.lead(call, nil, until)
			default:
				c.lead(call, nil, time.Time{}) // until the reply or the acknowledgement
			}
			c.releaseRead()
			select {
			case <-call.ack:
				acked = true
			default:
			}
			if err, gaveUp := giveUp(); gaveUp {
				grace.Stop()
				return err
			}
		case <-done:
			if err, dropped := c.dropUnsent(ctx, call); dropped {
				return err
			}
			call.cancelSent.Store(true)
			c.sendSmall(wire.KindCancel, call.id)
			cancelled = true
			ackC = call.ack
			done = nil
			until = time.Now().Add(c.opts.cancelGrace())
			grace = time.NewTimer(c.opts.cancelGrace())
			graceC = grace.C
		case <-graceC:
			graceC = nil
			if err, gaveUp := giveUp(); gaveUp {
				return err
			}
		}
	}
}

// explainCancel rewrites the error of a call that ended after we sent Cancel. A manager
// that gave up because of our cancel message reports context.Canceled, even when what
// ended our ctx was its deadline (the message can beat the manager's own copy of the
// deadline): say why ours ended.
func (c *Client) explainCancel(ctx context.Context, call *Call) {
	var re *RemoteError
	if errors.As(call.err, &re) && re.Sentinel == context.Canceled && ctx.Err() == context.DeadlineExceeded {
		msg := re.Msg
		if msg == context.Canceled.Error() {
			msg = context.DeadlineExceeded.Error()
		}
		call.err = &RemoteError{Msg: msg, Sentinel: context.DeadlineExceeded, Stack: re.Stack}
	}
}

// abandon gives up on a cancelled call whose grace has passed. It reports false if the
// reply was taken for delivery meanwhile (the caller then waits for call.done).
func (c *Client) abandon(ctx context.Context, call *Call) (err error, gaveUp bool) {
	c.mu.Lock()
	_, mine := c.pending[call.id]
	delete(c.pending, call.id)
	if mine && c.abandoned != nil {
		// The manager may still run it, holding its room: the late reply gives it back.
		c.abandoned[call.id] = abandonedCall{slot: call.slot, keep: slices.Clone(call.Args.keep)}
	}
	c.mu.Unlock()
	if !mine {
		return nil, false
	}
	return fmt.Errorf("%s: %w", call.describe(), ctx.Err()), true
}

// dropUnsent gives up on call if it has not been sent (made while the connection was
// down). Its request ID must still reach the manager — resume.go's record of the IDs
// read would keep a hole — so the resume sends it behind a Cancel, which makes the
// manager fail it without running it (reader.go); its reply then gives back its room.
func (c *Client) dropUnsent(ctx context.Context, call *Call) (err error, dropped bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, mine := c.pending[call.id]; !mine || !call.unsent || c.abandoned == nil {
		return nil, false
	}
	delete(c.pending, call.id)
	// A copy of the frame: the Call goes back to its pool when this returns.
	c.abandoned[call.id] = abandonedCall{slot: call.slot, keep: slices.Clone(call.Args.keep), frame: slices.Clone(call.frame)}
	return fmt.Errorf("%s: the connection is down, and the call was not sent: %w", call.describe(), ctx.Err()), true
}

// lead reads frames for every call of the connection until call has its reply or its
// CancelAck, the connection fails, ctx ends (ctx may be nil), or the deadline until passes (zero for
// none). The caller holds readTok.
func (c *Client) lead(call *Call, ctx context.Context, until time.Time) {
	if len(call.done) > 0 || len(call.ack) > 0 || (ctx != nil && ctx.Err() != nil) || (!until.IsZero() && !time.Now().Before(until)) {
		return
	}
	// A reader nothing can interrupt (a ctx that never ends, no grace deadline: the
	// common case) skips the bookkeeping interrupt needs.
	interruptible := !until.IsZero() || (ctx != nil && ctx.Done() != nil)
	if !interruptible {
		for len(call.done) == 0 && len(call.ack) == 0 {
			if _, err := c.readOne(); err != nil {
				return
			}
		}
		return
	}
	conn := c.link.Load().conn // the reader holds readTok: the link stays
	c.rmu.Lock()
	c.leader = call
	c.leaderConn = conn
	if !until.IsZero() {
		c.interrupted = true
		conn.SetReadDeadline(until)
	}
	c.rmu.Unlock()
	var stop func() bool
	if ctx != nil && ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { c.interrupt(call) })
	}
	for len(call.done) == 0 && len(call.ack) == 0 {
		if _, err := c.readOne(); err != nil {
			break
		}
	}
	if stop != nil {
		stop()
	}
	c.rmu.Lock()
	c.leader = nil
	c.leaderConn = nil
	if c.interrupted {
		c.interrupted = false
		conn.SetReadDeadline(time.Time{})
	}
	c.rmu.Unlock()
}

// interrupt wakes the goroutine reading for call, if it still is.
func (c *Client) interrupt(call *Call) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.leader == call {
		c.interrupted = true
		c.leaderConn.SetReadDeadline(time.Unix(1, 0))
	}
}

// releaseRead gives up the reading role; a caller waiting for it gets it (a sender
// blocked on readTok fills the freed slot at once, before startIdleReader can).
func (c *Client) releaseRead() {
	<-c.readTok
	if c.ending.Load() != nil {
		// The manager is going: someone must read on to its goodbye or the connection's
		// end (readToEnd), also after the last caller has its reply.
		c.startIdleReader()
	}
}

// startIdleReader starts the idle reader if nobody reads. It does so even with calls
// pending: their callers read once they have sent their calls, but a send can wait —
// for a manager that is itself stuck writing a large reply to us, which nobody reads.
func (c *Client) startIdleReader() {
	c.mu.Lock()
	// Not while resuming: the link is the dead one, which reconnect replaces (and then
	// starts the idle reader itself); reading it only fails at once, and a reader that
	// releases the role with readToEnd on would start another, and so on, until the
	// resume ends.
	up := c.err == nil && !c.resuming
	c.mu.Unlock()
	if !up {
		return
	}
	select {
	case c.readTok <- struct{}{}:
		go c.readWhileIdle()
	default: // someone reads
	}
}

// readWhileIdle is the idle reader: holding the reading role, it reads until it has
// handed over one reply or the connection ends.
func (c *Client) readWhileIdle() {
	for {
		reply, err := c.readOne()
		if reply || err != nil {
			break
		}
	}
	c.releaseRead()
}

// readOne reads and handles one frame. It returns a read deadline's error when the
// reader was interrupted, and any other error after ending the connection with it.
func (c *Client) readOne() (reply bool, err error) {
	l := c.link.Load() // the reader holds readTok: the link stays
	frame, err := l.r.Next()
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			c.rmu.Lock()
			interrupted := c.interrupted
			c.rmu.Unlock()
			if interrupted {
				return false, err
			}
		}
		if errors.Is(err, wire.ErrFrameTooLarge) {
			c.fail(fmt.Errorf("%w: %w", ErrConnLost, err))
		} else {
			c.broken(l, fmt.Errorf("%w: %s: %w", ErrConnLost, c.addr, err)) // client_resume.go
		}
		return false, err
	}
	c.lastRecv.Store(time.Now().UnixNano())
	c.recv.Add(1)
	c.unacked.Add(int64(len(frame)))
	reply, err = c.handleFrame(frame)
	if err != nil {
		c.fail(fmt.Errorf("%w: protocol error from %s: %w", ErrConnLost, c.addr, err))
		return reply, err
	}
	c.sendAck(false)
	return reply, err
}
