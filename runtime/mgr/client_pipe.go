package mgr

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
)

// Pipelined calls, the client's side (the manager's is pipeline.go, the protocol
// internal/wire/messages.go).
//
// CreatePipelined sends a create and returns a Handle at once, without waiting for the
// reply. Until the reply comes the Handle names its object as "the result of request N"
// (N the create's request ID): a call through it goes out as CallPipe, in the same write
// as the create, and the manager runs it once the create is done — so create and call
// cost one round trip, as in Cap'n Proto's promise pipelining. The reply, read by
// whoever reads (usually the caller of that first call, before its own reply), resolves
// the Handle; later calls name the object by its ID. A create that fails fails every call
// through the Handle with its error, wrapped (errors.Is works).
//
// A call the client does not wait for (the create, a batch of releases) is an ordinary
// call in c.pending with an onDone: it is sent again after a resume like any other, and
// its reply is handled where it is read. Such a frame is left in the write buffer
// (deferred), to go out with the next frame written — the call that follows — or, when
// none follows, at keepAlive's next tick (idleReadEvery, 250 ms at most); whoever waits
// for a pipelined create's reply (Ready) sends it at once. A timer per deferred frame
// would send it sooner, but arming one wakes another thread: measured with
// create + call + release in a loop, a 1 ms timer cost 6 µs of a 30 µs p50.

// pipeRes is the outcome of a pipelined create, as its Handle sees it.
type pipeRes struct {
	reqID  uint64
	call   Call          // the create (waitPipe reads until its reply); never pooled
	typeID string        // what it creates, for the error of a reply that does not decode
	done   chan struct{} // closed once id or err is set
	id     uint64
	err    error
	// stop ends the watch on the create's ctx (CreatePipelined); nil when its ctx
	// cannot end.
	stop atomic.Pointer[func() bool]
	// args is the create's first buffer for its arguments: a type's name and a few
	// values fit, and the create allocates none.
	args [reservedHeader + 64]byte
}

// pipeDone is a pipelined create's onDone: it settles p where the reply is read, with no
// waiting. A function, not a closure, so a create allocates nothing for it.
func pipeDone(call *Call) {
	p := call.pipe
	if s := p.stop.Load(); s != nil {
		(*s)()
	}
	if call.err != nil {
		p.err = call.err
	} else {
		d := Decoder{buf: call.reply}
		p.id = d.Uint64()
		if err := d.Done(); err != nil {
			p.err = fmt.Errorf("mgr: decode the reply of %s's create: %w", p.typeID, err)
		}
	}
	// The Call lives as long as p (as long as the Handle it made) but is done with what
	// only its sending needed: the proxies among its arguments (kept until the reply, as
	// for every call; collected, they release their objects), its frame, its reply.
	clear(call.Args.keep)
	call.Args = Encoder{}
	call.frame, call.reply = nil, nil
	close(p.done)
	call.done <- struct{}{} // for waitPipe's reader (lead)
}

// complete finishes a pending call: its onDone, which owns the call from then on, or
// whoever waits for it.
func (call *Call) complete() {
	if call.onDone != nil {
		call.onDone(call)
		return
	}
	call.done <- struct{}{}
}

// isControl reports whether h is the manager's own object.
func (h *Handle) isControl() bool { return h.pipe == nil && h.id == wire.ControlObject }

// objID returns the object's ID, or 0 while a pipelined create has not been answered
// (or when it failed).
func (h *Handle) objID() uint64 {
	if h.pipe == nil {
		return h.id
	}
	select {
	case <-h.pipe.done:
		return h.pipe.id
	default:
		return 0
	}
}

// target returns how a call names h's object: by ID, or by the request ID of its
// pipelined create while that has not been answered; or the create's error.
func (h *Handle) target() (kind byte, id uint64, err error) {
	p := h.pipe
	if p == nil {
		return wire.KindCall, h.id, nil
	}
	select {
	case <-p.done:
		if p.err != nil {
			return 0, 0, pipeFailed(p.reqID, p.err)
		}
		return wire.KindCall, p.id, nil
	default:
		return wire.KindCallPipe, p.reqID, nil
	}
}

// Ready waits until the object behind h exists and returns nil, or returns the error of
// its create: for a Handle made by Client.CreatePipelined (generated CreateTPipelined),
// the constructor's outcome, without a call. Any other Handle is ready at once.
func (h *Handle) Ready(ctx context.Context) error {
	p := h.pipe
	if p == nil {
		return nil
	}
	c, ok := h.owner.(*Client)
	if !ok {
		return nil
	}
	if err := c.waitPipe(ctx, p); err != nil {
		return err
	}
	if p.err != nil {
		return pipeFailed(p.reqID, p.err)
	}
	return nil
}

// waitPipe waits for the reply to the pipelined create p, reading frames itself when
// nobody else is.
func (c *Client) waitPipe(ctx context.Context, p *pipeRes) error {
	for {
		select {
		case <-p.done:
			return nil
		default:
		}
		select {
		case <-p.done:
			return nil
		case c.readTok <- struct{}{}:
			_ = c.link.Load().w.Flush() // the create may still be in the buffer; a failure is the reader's to see
			c.lead(&p.call, ctx, time.Time{})
			c.releaseRead()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// CreatePipelined is Create without the wait: it sends the create and returns a Handle
// at once, with an error only for what fails here (the client closed, ctx ended,
// arguments that do not encode). Calls through the Handle go out at once too, and the
// manager runs them once the object exists: create and first call cost one round trip
// instead of two. The constructor's error reaches every call through the Handle (and
// Ready, which waits for it). ctx bounds the construction: its deadline goes with it,
// and cancelling it cancels the create. Generated CreateTPipelined functions call it.
//
// The first call of a type in a session still waits for the manager's table of the
// type's methods (client_bind.go), as any call does; later ones do not.
func (c *Client) CreatePipelined(ctx context.Context, typeID string, args func(*Encoder)) (*Handle, error) {
	gen := c.sessGen.Load()
	// The create's Call lives in p, not in the pool: waitPipe may still lead it after its
	// reply was handled, so it must never be handed to another call.
	p := &pipeRes{typeID: typeID, done: make(chan struct{})}
	call := &p.call
	// No ack channel: nobody awaits this call, so a Cancel's acknowledgement has no
	// reader (handleFrame's send to a nil channel takes its default).
	*call = Call{done: make(chan struct{}, 1), conn: c, pipe: p, onDone: pipeDone}
	call.h = c.controlHandle(gen)
	call.method = wire.CtlCreatePipe
	call.Args = Encoder{buf: p.args[:reservedHeader], env: c}
	call.Args.String(typeID)
	if args != nil {
		args(&call.Args)
	}
	if err := call.Args.err; err != nil {
		return nil, fmt.Errorf("mgr: encode arguments of %s's constructor: %w", typeID, err)
	}
	if err := c.send(ctx, call, true); err != nil {
		return nil, err
	}
	p.reqID = call.id
	if ctx.Done() != nil {
		// Nobody waits for the reply: a cancelled ctx sends the Cancel from here.
		id := call.id
		s := context.AfterFunc(ctx, func() {
			select {
			case <-p.done:
			default:
				call.cancelSent.Store(true)
				c.sendSmall(wire.KindCancel, id)
			}
		})
		p.stop.Store(&s)
		select {
		case <-p.done: // answered before the watch was stored
			s()
		default:
		}
	}
	h := &Handle{owner: c, typeID: typeID, sess: gen, pipe: p}
	h.cleanup = runtime.AddCleanup(h, releaseLeaked, leakedRef{c, relRef{pipe: p.reqID, sess: gen}})
	return h, nil
}

// flushDeferred sends the queued releases and the deferred frames now.
func (c *Client) flushDeferred() {
	if c.rel.queued.Load() {
		c.sendReleases(false)
		return
	}
	if err := c.link.Load().w.Flush(); err != nil {
		c.broken(c.link.Load(), fmt.Errorf("%w: write to %s: %w", ErrConnLost, c.addr, err))
	}
}
