package mgr

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
	pywire "github.com/mgr-go/mgr/runtime/pyproto/wire"
)

// CPython's messages: a request is the pickled 4-tuple (ident, methodname, args, kwds),
// ident None for the manager's own operations; a reply is (kind, payload).

type pyRequest struct {
	ident  string // "" for the manager's operations
	method string
	args   []any
	kwds   *pickle.Dict // nil when empty
}

func decodePyRequest(frame []byte, names *pyLastNames) (pyRequest, error) {
	if req, ok := fastPyRequest(frame, names); ok { // python_fastreq.go
		return req, nil
	}
	return decodePyRequestGeneral(frame)
}

// decodePyRequestGeneral decodes any request with the general pickle decoder.
func decodePyRequestGeneral(frame []byte) (pyRequest, error) {
	v, err := pickle.Decode(frame)
	if err != nil {
		return pyRequest{}, fmt.Errorf("bad request: %w", err)
	}
	t, ok := v.(pickle.Tuple)
	if !ok || t.Len() != 4 {
		return pyRequest{}, fmt.Errorf("bad request: want (ident, methodname, args, kwds), got %T", v)
	}
	elems, err := t.Elems()
	if err != nil {
		return pyRequest{}, fmt.Errorf("bad request: %w", err)
	}
	var req pyRequest
	switch id := elems[0].(type) {
	case nil:
	case string:
		req.ident = id
	default:
		return pyRequest{}, fmt.Errorf("bad request: the ident is a %T, not a str", elems[0])
	}
	if req.method, ok = elems[1].(string); !ok {
		return pyRequest{}, fmt.Errorf("bad request: the method name is a %T, not a str", elems[1])
	}
	switch a := elems[2].(type) {
	case pickle.Tuple:
		if req.args, err = a.Elems(); err != nil {
			return pyRequest{}, fmt.Errorf("bad request: %w", err)
		}
	case []any:
		req.args = a
	case nil:
	default:
		return pyRequest{}, fmt.Errorf("bad request: the arguments are a %T, not a tuple", elems[2])
	}
	switch k := elems[3].(type) {
	case *pickle.Dict:
		if k.Len() > 0 {
			req.kwds = k
		}
	case nil:
	default:
		return pyRequest{}, fmt.Errorf("bad request: the keyword arguments are a %T, not a dict", elems[3])
	}
	return req, nil
}

type pyReply struct {
	kind  string // #RETURN, #ERROR, #TRACEBACK, #PROXY, #UNSERIALIZABLE
	value any
}

// appendFrame pickles the reply after pywire.HeaderRoom bytes of room for its frame's
// header (pywire.PutHeader), using scratch for the value's own pickle and dst for the
// result, so that a connection that keeps both allocates nothing per reply. The hot path
// writes (kind, value) as the pickler's output for value with the kind pushed before it
// and TUPLE2 after: one encoding of the value, where pickle.MakeTuple would encode it
// twice (once canonically). The kind is pushed without MEMOIZE, so the value's memo
// indices stay right.
func (r pyReply) appendFrame(dst, scratch []byte) (frame, scratchOut []byte, err error) {
	out, err := pickle.AppendEncode(scratch[:0], r.value)
	if err != nil {
		return nil, scratch, err
	}
	const head = 11 // PROTO 4, FRAME and its 8-byte length
	dst = append(dst[:0], make([]byte, pywire.HeaderRoom)...)
	if len(out) < head+1 || out[0] != 0x80 || out[2] != 0x95 || out[len(out)-1] != '.' || len(r.kind) > 255 {
		t, err := pickle.MakeTuple(r.kind, r.value) // not the layout expected: the long way
		if err != nil {
			return nil, out, err
		}
		dst, err = pickle.AppendEncode(dst, t)
		return dst, out, err
	}
	body := out[head : len(out)-1]
	start := len(dst)
	dst = append(dst, out[:head]...)
	dst = append(dst, 0x8c, byte(len(r.kind))) // SHORT_BINUNICODE
	dst = append(dst, r.kind...)
	dst = append(dst, body...)
	dst = append(dst, 0x86, '.') // TUPLE2, STOP
	binary.LittleEndian.PutUint64(dst[start+3:start+head], uint64(len(dst)-start-head))
	return dst, out, nil
}

func pyReturn(v any) pyReply { return pyReply{kind: "#RETURN", value: v} }

// pyTraceback is a reply CPython raises as RemoteError(text).
func pyTraceback(err error) pyReply {
	return pyReply{kind: "#TRACEBACK", value: "Traceback (the Go manager):\n" + err.Error() + "\n"}
}

// pyFailure is the reply to a method that failed: its Python exception when it has one
// (#ERROR, raised as itself), else a RemoteError with its text.
func pyFailure(err error) pyReply {
	var exc *pickle.Exception
	if errors.As(err, &exc) {
		return pyReply{kind: "#ERROR", value: exc}
	}
	return pyTraceback(err)
}

// PyException returns a Python exception of a builtin class (KeyError, ValueError, ...)
// with args, for PyMethods to return.
func PyException(name string, args ...any) error {
	return &pickle.Exception{Module: "builtins", Name: name, Args: args}
}

// PyTypeError is the TypeError a PyMethod returns for arguments it cannot take.
func PyTypeError(format string, args ...any) error {
	return PyException("TypeError", fmt.Sprintf(format, args...))
}
