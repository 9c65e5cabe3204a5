package mgr

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/mgr-go/mgr/internal/wire"
)

// Running calls and writing their replies.

// replyReserve is room for a reply's frame length, kind, request ID and an empty list of
// references.
const replyReserve = wire.HeaderSize + 1 + binary.MaxVarintLen64 + 1

// runCall runs one call and writes its reply. A call run inline by the session's reader
// (j.rd != nil) leaves its reply buffered when more requests are already waiting to be
// read, so pipelined calls share one write.
func (sess *session) runCall(j callJob) {
	s := sess.srv
	defer func() {
		if j.cancel != nil {
			j.cancel()
			sess.cmu.Lock()
			delete(sess.calls, j.reqID)
			sess.cmu.Unlock()
		}
		sess.releaseSlot(j.slot)
		s.putBuf(j.args)
		if s.inflight.Add(-1) == 0 && s.shutting.Load() {
			select {
			case s.drained <- struct{}{}:
			default:
			}
		}
	}()
	res := s.getBuf(0)
	defer s.putBuf(res)
	enc := Encoder{buf: append((*res)[:0], make([]byte, replyReserve)...), env: sess, track: true}

	if j.rd == nil && j.obj != nil && j.obj.desc.Serialized && !j.locked && !s.shutting.Load() &&
		j.method < uint64(len(j.obj.desc.Methods)) {
		// A worker waits for a one-at-a-time object here rather than in dispatchObject,
		// so the wait stays out of the hold measured next (a reader never waits for it).
		j.obj.mu.Lock()
		j.locked = true
	}
	hold, measured := s.startHold(&j) // reader.go
	var err error
	if s.shutting.Load() {
		if j.locked {
			j.obj.mu.Unlock() // taken for an inline call by the reader (TryLock)
		}
		err = callError(ErrShutdown, "the manager is shutting down")
	} else {
		dec := Decoder{buf: *j.args, env: sess}
		if j.objID == wire.ControlObject {
			err = s.control(j.ctx, sess, j.method, &dec, &enc)
		} else {
			err = s.dispatchObject(j.ctx, j.obj, j.objID, j.method, &dec, &enc, j.locked)
		}
		if err == nil {
			err = enc.err
		}
		if err != nil && s.forced.Load() {
			err = &RemoteError{Msg: "mgr: manager shut down while the call ran: " + err.Error(), Sentinel: ErrShutdown}
		}
	}
	var frame []byte
	if err != nil {
		sess.dropRefs(enc.refs) // the caller gets no handles for them
		frame = errorFrame(enc.buf[:replyReserve], j.reqID, err)
	} else {
		frame = finishReply(enc.buf, j.reqID, enc.refs)
	}
	*res = enc.buf // keep the grown buffer for the pool
	reading := j.rd != nil && j.rd.endInline()
	if measured {
		hold.stop(&j, reading)
	}
	if reading && j.rd.r.Buffered() > 0 {
		err = sess.w.WriteFrameBuffered(frame) // the reader flushes before it waits (reader.go)
	} else {
		err = sess.w.WriteFrame(frame)
	}
	if err != nil {
		// The peer is gone or stopped reading (the write stalled for a lease); the
		// writer fails every later reply too, so end the session: closing the
		// connection ends the read loop, which ends the session.
		sess.conn.Close()
	}
}

// finishReply writes the reply header — kind, request ID, and the IDs of the references
// the reply counted for the session — right-aligned into the reserved space of buf. A
// client that gave up on the call drops those references when the reply comes late.
func finishReply(buf []byte, reqID uint64, refs []uint64) []byte {
	var hdr [replyReserve]byte
	h := append(hdr[:wire.HeaderSize], wire.KindReply)
	h = binary.AppendUvarint(h, reqID)
	h = binary.AppendUvarint(h, uint64(len(refs)))
	if len(refs) > 0 {
		// Rare (a method returning proxies), and the list has no reserved room: copy.
		for _, id := range refs {
			h = binary.AppendUvarint(h, id)
		}
		frame := append(h, buf[replyReserve:]...)
		wire.PutHeader(frame, len(frame)-wire.HeaderSize)
		return frame
	}
	start := replyReserve - len(h)
	frame := buf[start:]
	copy(frame, h)
	wire.PutHeader(frame, len(frame)-wire.HeaderSize)
	return frame
}

// dropRefs undoes references counted for the session by a reply that became an error.
func (sess *session) dropRefs(ids []uint64) {
	if len(ids) == 0 || sess.id == 0 {
		return
	}
	s := sess.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if obj := s.objects[id]; obj != nil {
			_ = s.decrefLocked(obj, sess) // a session that ended has dropped them already
		}
	}
}

func errorFrame(buf []byte, reqID uint64, err error) []byte {
	e := Encoder{buf: append(buf[:0], 0, 0, 0, 0, wire.KindError)}
	e.Uint64(reqID)
	stack := ""
	var re *RemoteError
	if errors.As(err, &re) {
		stack = re.Stack
	}
	e.String(err.Error())
	e.String(sentinelName(err))
	e.String(stack)
	wire.PutHeader(e.buf, len(e.buf)-wire.HeaderSize)
	return e.buf
}

// dispatch runs one call: a control method of the manager or an exposed method.
func (s *Server) dispatch(ctx context.Context, sess *session, objID, method uint64, args *Decoder, res *Encoder) (err error) {
	if objID == wire.ControlObject {
		return s.control(ctx, sess, method, args, res)
	}
	return s.dispatchObject(ctx, s.lookup(objID), objID, method, args, res, false)
}

// dispatchObject runs method of obj, the object the table held under objID when the
// call was read (nil if none). locked says the caller holds obj.mu already (only for a
// valid method of a Serialized type); it is released here.
func (s *Server) dispatchObject(ctx context.Context, obj *object, objID, method uint64, args *Decoder, res *Encoder, locked bool) (err error) {
	if obj == nil {
		return callError(ErrUnknownObject, "object #%d does not exist (released, or never created)", objID)
	}
	desc := obj.desc
	if method >= uint64(len(desc.Methods)) {
		return callError(ErrUnknownMethod, "%s has no exposed method #%d (it exposes %s)", desc.TypeID, method, methodNames(desc.TypeDesc))
	}
	m := &desc.Methods[method]
	if desc.Serialized {
		if !locked {
			obj.mu.Lock()
		}
		defer obj.mu.Unlock()
	}
	defer func() {
		if p := recover(); p != nil {
			err = &RemoteError{
				Msg:      fmt.Sprintf("%s.%s panicked: %v", desc.TypeID, m.Name, p),
				Sentinel: ErrPanic,
				Stack:    string(debug.Stack()),
			}
		}
	}()
	return m.Call(ctx, obj.value, args, res)
}

func methodNames(desc *TypeDesc) string {
	names := make([]string, len(desc.Methods))
	for i, m := range desc.Methods {
		names[i] = fmt.Sprintf("#%d %s", i, m.Name)
	}
	if len(names) == 0 {
		return "no methods"
	}
	return strings.Join(names, ", ")
}

// control runs a method of the manager itself.
