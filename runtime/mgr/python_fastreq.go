package mgr

import (
	"bytes"
	"encoding/binary"

	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
)

// A fast path for the requests CPython's proxies send most: the pickler writes
// (ident, methodname, args, {}) as
//
//	PROTO 4, FRAME n, MARK, ident (SHORT_BINUNICODE s MEMOIZE, or NONE),
//	methodname (SHORT_BINUNICODE s MEMOIZE), args…, EMPTY_DICT MEMOIZE, TUPLE MEMOIZE, STOP
//
// so the ident and the name are read off directly, no arguments (EMPTY_TUPLE) need no
// decoding, and other arguments are decoded alone — after the same ident and name ops,
// so that the memo, which the arguments may refer to (an argument that is the very
// string object of the method name), is the one the pickler numbered. Anything else,
// keyword arguments included, takes the general decoder.

const (
	opMark           = 0x28
	opNone           = 0x4e
	opShortUnicode   = 0x8c
	opMemoize        = 0x94
	opEmptyDict      = 0x7d
	opEmptyTuple     = 0x29
	opTuple          = 0x74
	opPopMark        = 0x31
	opStop           = 0x2e
	opProto          = 0x80
	opFrame          = 0x95
	pickleFrameStart = 11 // PROTO 4 and FRAME with its 8-byte length
)

// requestTails are the ends of a request whose kwds are empty, with and without the
// pickler's MEMOIZEs.
var requestTails = [][]byte{
	{opEmptyDict, opMemoize, opTuple, opMemoize, opStop},
	{opEmptyDict, opTuple, opStop},
}

// pyLastNames holds a connection's last ident and method name, so that the next request,
// which names the same ones (a client thread's loop calling one proxy's method), takes
// them without allocating a string.
type pyLastNames struct{ ident, method string }

// name returns b as a string: last when they are equal, else a new one, kept in last.
func (n *pyLastNames) name(last *string, b []byte) string {
	if string(b) != *last { // compares without allocating
		*last = string(b)
	}
	return *last
}

// fastPyRequest decodes the common requests (see above); names, if not nil, is the
// connection's (pyLastNames).
func fastPyRequest(frame []byte, names *pyLastNames) (pyRequest, bool) {
	var req pyRequest
	if len(frame) < pickleFrameStart+1 || frame[0] != opProto || (frame[1] != 4 && frame[1] != 5) || frame[2] != opFrame ||
		binary.LittleEndian.Uint64(frame[3:pickleFrameStart]) != uint64(len(frame)-pickleFrameStart) ||
		frame[pickleFrameStart] != opMark {
		return req, false
	}
	p := pickleFrameStart + 1
	prefixStart := p
	var dummy pyLastNames
	if names == nil {
		names = &dummy
	}
	str := func(last *string) (string, bool) {
		if p+2 > len(frame) || frame[p] != opShortUnicode {
			return "", false
		}
		n := int(frame[p+1])
		if p+2+n > len(frame) {
			return "", false
		}
		s := names.name(last, frame[p+2:p+2+n])
		p += 2 + n
		if p < len(frame) && frame[p] == opMemoize {
			p++
		}
		return s, true
	}
	if p >= len(frame) {
		return req, false
	}
	if frame[p] == opNone {
		p++
	} else {
		var ok bool
		if req.ident, ok = str(&names.ident); !ok {
			return req, false
		}
	}
	var ok bool
	if req.method, ok = str(&names.method); !ok {
		return req, false
	}
	prefix := frame[prefixStart:p]
	var args []byte
	for _, tail := range requestTails {
		if bytes.HasSuffix(frame, tail) && len(frame)-len(tail) >= p {
			args = frame[p : len(frame)-len(tail)]
			break
		}
	}
	switch {
	case args == nil:
		return req, false
	case len(args) == 1 && args[0] == opEmptyTuple:
		return req, true
	}
	// The arguments alone: PROTO, MARK, the same ident and name ops (filling the memo as
	// the pickler did), POP_MARK, the arguments, STOP.
	sub := make([]byte, 0, 4+len(prefix)+len(args))
	sub = append(sub, opProto, 4, opMark)
	sub = append(sub, prefix...)
	sub = append(sub, opPopMark)
	sub = append(sub, args...)
	sub = append(sub, opStop)
	v, err := pickle.Decode(sub)
	if err != nil {
		return req, false
	}
	t, isTuple := v.(pickle.Tuple)
	if !isTuple {
		return req, false
	}
	if req.args, err = t.Elems(); err != nil {
		return req, false
	}
	return req, true
}
