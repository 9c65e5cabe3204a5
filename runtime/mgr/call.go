package mgr

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/mgr-go/mgr/internal/wire"
)

// Call is one method call in progress. Generated code gets it from ProxyBase.Begin,
// encodes the arguments into Args, calls Do, decodes the results from the Decoder Do
// returns, and calls End. After Do returns an error the Call is finished and must not be
// touched; after a successful Do, End must be called exactly once.
type Call struct {
	// Args receives the encoded arguments.
	Args Encoder
	res  Decoder

	h      *Handle
	method int    // the index in this process's table of the type; -1: by name
	name   string // the method's name when method is -1

	// pinned lists objects a manager-internal call's result made, kept in the table until
	// End: by then decoding the result has taken references to them (Server.call).
	pinned []uint64

	// Client-side state, owned by the connection while the call is pending.
	frame      []byte      // the call's frame as sent, within Args: a resume may send it again
	cancelSent atomic.Bool // Cancel was sent: a resume sends it again
	unsent     bool        // made while the connection was down: not written yet; guarded by the client's mu
	id         uint64
	done       chan struct{}
	ack        chan struct{} // the manager acknowledged our Cancel: the call still ran (calls.go)
	reply      []byte
	err        error
	conn       *Client
	meta       bool // Args begin with metadata: the call goes out as CallMeta (interceptor.go)
	slot       int  // the argument bytes admitted (client_admit.go)
	// onDone, for a call nobody waits for (a pipelined create, a batch of releases:
	// client_pipe.go), handles its reply, or its failure, where it is read.
	onDone func(*Call)
	pipe   *pipeRes // a pipelined create's outcome, which onDone settles (client_pipe.go)
	nrel   int      // a CtlReleaseN's count of references, for its onDone's log
}

// reservedHeader is room at the front of every call's Args buffer for the frame length,
// kind and four uvarints; Do writes the header right-aligned into it, so the frame goes
// out without a copy.
const reservedHeader = 4 + 1 + 4*10

// Do sends the call and waits for its reply, for ctx to end, or for the connection to
// fail. The returned Decoder reads the results.
func (c *Call) Do(ctx context.Context) (*Decoder, error) {
	if err := c.Args.err; err != nil {
		err = fmt.Errorf("mgr: encode arguments of %s: %w", c.describe(), err)
		c.recycle()
		return nil, err
	}
	if c.h.released.Load() {
		err := fmt.Errorf("%w: %s#%d", ErrReleased, c.h.typeID, c.h.objID())
		c.recycle()
		return nil, err
	}
	var err error
	if cl, ok := c.intercepts(); ok {
		err = c.doIntercepted(ctx, cl) // interceptor.go
	} else {
		err = c.h.owner.call(ctx, c)
	}
	if err != nil {
		c.recycle()
		return nil, err
	}
	return &c.res, nil
}

// End checks that the results were decoded completely and finishes the call.
func (c *Call) End() error {
	err := c.res.Done()
	if err != nil {
		err = fmt.Errorf("mgr: decode results of %s: %w", c.describe(), err)
	}
	if len(c.pinned) > 0 {
		c.h.owner.(*Server).unpin(c.pinned)
		c.pinned = nil
	}
	c.recycle()
	return err
}

func (c *Call) describe() string {
	if c.method < 0 {
		return c.h.typeID + "." + c.name
	}
	if c.h.isControl() {
		return controlName(uint64(c.method))
	}
	if d := LookupType(c.h.typeID); d != nil && c.method < len(d.Methods) {
		return d.TypeID + "." + d.Methods[c.method].Name
	}
	return fmt.Sprintf("%s method %d", c.h.typeID, c.method)
}

func (c *Call) recycle() {
	if c.conn != nil {
		c.conn.putCall(c)
	}
}

// refEnv is what encoding and decoding proxies and exposed objects needs from the side of
// the connection doing it: a client turns handles into IDs and back; the manager resolves
// IDs to referents and registers returned objects.
type refEnv interface {
	codec() Codec
	// encodeRef returns the ID of h's object, and whether it counted a reference for the
	// receiving side (a manager's reply to a client: the reply lists it).
	encodeRef(h *Handle) (id uint64, counted bool, err error)
	decodeRef(id uint64, typeID string) (*Handle, error)
	referent(id uint64, typeID string) (any, error)
	newObject(typeID string, v any) (uint64, error)
}

// frameEncoder returns an Encoder that writes a frame of kind into buf (reused), after
// room for the frame's length prefix; frame finishes it.
func frameEncoder(buf []byte, kind byte) Encoder {
	return Encoder{buf: append(buf[:0], 0, 0, 0, 0, kind)}
}

// frame writes the length prefix of a frame begun with frameEncoder and returns it.
func (e *Encoder) frame() []byte {
	wire.PutHeader(e.buf, len(e.buf)-wire.HeaderSize)
	return e.buf
}

// Ref appends a reference to the object behind h (nil for none). Generated code uses it
// for proxy arguments.
func (e *Encoder) Ref(h *Handle) {
	if h == nil {
		e.buf = append(e.buf, 0)
		return
	}
	if e.env == nil {
		e.SetErr(fmt.Errorf("mgr: cannot encode a proxy outside a call"))
		return
	}
	if h.released.Load() {
		e.SetErr(fmt.Errorf("%w: %s#%d passed as a value", ErrReleased, h.typeID, h.objID()))
		return
	}
	id, counted, err := e.env.encodeRef(h)
	if err != nil {
		e.SetErr(err)
		return
	}
	if counted {
		e.refs = append(e.refs, id)
	} else if !e.track {
		// The call keeps the proxy reachable until its reply: were it collected before
		// the call reached the manager, its cleanup's release could overtake the call.
		e.keep = append(e.keep, h)
	}
	e.buf = append(e.buf, 1)
	e.Uint64(id)
	e.String(h.typeID)
}

// Object registers v (a pointer to an exposed type, or nil) as a new object owned by the
// calling session and appends a reference to it. Generated server code uses it for
// methods that return another exposed type.
func (e *Encoder) Object(typeID string, v any) {
	if v == nil {
		e.buf = append(e.buf, 0)
		return
	}
	if e.env == nil {
		e.SetErr(fmt.Errorf("mgr: cannot return an object outside a call"))
		return
	}
	id, err := e.env.newObject(typeID, v)
	if err != nil {
		e.SetErr(err)
		return
	}
	if e.track {
		e.refs = append(e.refs, id)
	}
	e.buf = append(e.buf, 1)
	e.Uint64(id)
	e.String(typeID)
}

func (d *Decoder) ref() (id uint64, typeID string, ok bool) {
	if d.err != nil {
		return 0, "", false
	}
	if d.off >= len(d.buf) {
		d.Fail("reference: unexpected end of data")
		return 0, "", false
	}
	flag := d.buf[d.off]
	d.off++
	switch flag {
	case 0:
		return 0, "", false
	case 1:
	default:
		d.Fail("reference: invalid flag %d", flag)
		return 0, "", false
	}
	id = d.Uint64()
	typeID = d.String()
	if d.err != nil {
		return 0, "", false
	}
	if d.env == nil {
		d.SetErr(fmt.Errorf("mgr: cannot decode a proxy outside a call"))
		return 0, "", false
	}
	return id, typeID, true
}

// Handle reads a reference and returns a Handle owning it, or nil for none. Generated
// client code uses it for results that are proxies.
func (d *Decoder) Handle() *Handle {
	id, typeID, ok := d.ref()
	if !ok {
		return nil
	}
	h, err := d.env.decodeRef(id, typeID)
	if err != nil {
		d.SetErr(err)
		return nil
	}
	return h
}

// Referent reads a reference and returns the object it names, which must be of type
// typeID, or nil for none. Generated server code uses it for parameters that are pointers
// to exposed types.
func (d *Decoder) Referent(typeID string) any {
	id, gotType, ok := d.ref()
	if !ok {
		return nil
	}
	if gotType != typeID {
		d.SetErr(fmt.Errorf("mgr: argument is a %s proxy, the method takes %s", gotType, typeID))
		return nil
	}
	v, err := d.env.referent(id, typeID)
	if err != nil {
		d.SetErr(err)
		return nil
	}
	return v
}
