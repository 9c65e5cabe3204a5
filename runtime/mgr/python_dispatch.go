package mgr

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
)

// The CPython front-end's dispatch: the manager's operations (CPython's Server.public)
// and method calls by name, run on the one object table.

// control answers one of the manager's operations.
func (pc *pyConn) control(req pyRequest) pyReply {
	s := pc.srv
	switch req.method {
	case "dummy":
		return pyReturn(nil)
	case "create":
		return pc.create(req)
	case "incref", "decref":
		ident, ok := pyOneString(req.args)
		if !ok {
			return pyTraceback(fmt.Errorf("%s takes one ident", req.method))
		}
		var err error
		if req.method == "incref" {
			err = s.pyIncref(pc.holder, ident)
		} else {
			err = s.pyDecref(pc.holder, ident)
		}
		if err != nil {
			return pyTraceback(fmt.Errorf("KeyError: %v", err))
		}
		return pyReturn(nil)
	case "get_methods":
		if len(req.args) != 1 {
			return pyTraceback(fmt.Errorf("get_methods takes one Token"))
		}
		tok, ok := req.args[0].(pickle.Token)
		if !ok {
			return pyTraceback(fmt.Errorf("get_methods takes a Token, not a %T", req.args[0]))
		}
		obj, face, err := pc.object(tok.ID)
		if err != nil {
			return pyTraceback(err)
		}
		_ = obj
		return pyReturn(pyNames(face.Exposed))
	case "number_of_objects":
		return pyReturn(int64(s.pyNumObjects()))
	case "debug_info":
		return pyReturn(s.pyDebugInfo())
	case "shutdown":
		return pyReturn(nil)
	case "accept_connection":
		return pyReturn(nil) // answered by servePyConn; here only if sent twice
	}
	return pyTraceback(fmt.Errorf("AssertionError: %q unrecognized", req.method))
}

func pyOneString(args []any) (string, bool) {
	if len(args) != 1 {
		return "", false
	}
	s, ok := args[0].(string)
	return s, ok
}

func pyNames(names []string) pickle.Tuple {
	elems := make([]any, len(names))
	for i, n := range names {
		elems[i] = n
	}
	return pickle.MustTuple(elems...)
}

// create makes an object of a registered Python typeid, or hands out a shared one, with
// one reference for the caller's holder (CPython: refcount 1; the client's proxy then
// increfs and the creating call decrefs).
func (pc *pyConn) create(req pyRequest) pyReply {
	s := pc.srv
	if len(req.args) == 0 {
		return pyTraceback(fmt.Errorf("create takes a typeid"))
	}
	typeID, ok := req.args[0].(string)
	if !ok {
		return pyTraceback(fmt.Errorf("the typeid is a %T, not a str", req.args[0]))
	}
	s.mu.Lock()
	shared, isShared := s.pyLocked().shared[typeID]
	if isShared {
		defer s.mu.Unlock()
		obj := s.objects[s.named[shared.name]]
		if obj == nil {
			return pyTraceback(fmt.Errorf("the shared object %q is gone", shared.name))
		}
		if err := s.increfLocked(obj, pc.holder.sess); err != nil {
			return pyTraceback(err)
		}
		return pyReturn(pickle.MustTuple(s.pyIdent(obj.id), pyNames(shared.face.Exposed)))
	}
	s.mu.Unlock()
	face := LookupPython(typeID)
	if face == nil || face.New == nil {
		return pyTraceback(fmt.Errorf("KeyError: %q (no such typeid in this manager)", typeID))
	}
	desc := LookupType(face.GoTypeID)
	if desc == nil {
		return pyTraceback(fmt.Errorf("typeid %s: its Go type %s is not registered", typeID, face.GoTypeID))
	}
	v, err := pyRun(func() (any, error) {
		return face.New(withCaller(s.callsCtx, Caller{}), req.args[1:], req.kwds)
	})
	if err != nil {
		// CPython's create reports a constructor's exception as a RemoteError too.
		return pyTraceback(err)
	}
	id, err := s.pyAddObject(desc, face, v, pc.holder)
	if err != nil {
		return pyTraceback(err)
	}
	return pyReturn(pickle.MustTuple(s.pyIdent(id), pyNames(face.Exposed)))
}

// pyAddObject enters v with one reference of h.
func (s *Server) pyAddObject(desc *TypeDesc, face *PyType, v any, h *pyHolder) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting.Load() {
		return 0, fmt.Errorf("the manager is shutting down")
	}
	obj, err := s.addObjectLocked(desc, v, h.sess)
	if err != nil {
		return 0, err
	}
	obj.py = face
	return obj.id, nil
}

// object finds the object ident names and its Python face.
func (pc *pyConn) object(ident string) (*object, *PyType, error) {
	s := pc.srv
	id, err := s.pyObjectID(ident)
	if err != nil {
		return nil, nil, fmt.Errorf("KeyError: %v", err)
	}
	// One read lock for the object and its face: this runs on every call.
	s.mu.RLock()
	obj := s.objects[id]
	var face *PyType
	if obj != nil {
		face = obj.py
	}
	s.mu.RUnlock()
	if obj == nil {
		return nil, nil, fmt.Errorf("KeyError: object %s does not exist (released, or never created)", ident)
	}
	if face == nil {
		face = pythonFaceOf(obj.desc.TypeID)
		if face == nil {
			return nil, nil, fmt.Errorf("object %s is a %s, which has no Python face (RegisterPython)", ident, obj.desc.TypeID)
		}
	}
	return obj, face, nil
}

// call runs a method call of a proxy.
func (pc *pyConn) call(ctx context.Context, req pyRequest) pyReply {
	if req.ident == "" {
		return pc.control(req) // CPython answers the manager's operations on this connection too
	}
	obj, face, err := pc.object(req.ident)
	if err != nil {
		return pyTraceback(err)
	}
	m := face.Methods[req.method]
	exposed := slices.Contains(face.Exposed, req.method)
	if typeID := face.MethodToTypeID[req.method]; typeID != "" && exposed {
		return pc.callToProxy(ctx, obj, face, req, typeID)
	}
	if m == nil || !exposed {
		// CPython's fallback_mapping: these work whatever is exposed.
		switch req.method {
		case "__str__", "__repr__":
			if face.Repr == nil {
				return pyReturn(fmt.Sprintf("<%s object>", face.TypeID))
			}
			// Under the object's lock, as its methods run: a Repr of a serialized type
			// reads what they change.
			v, err := pc.intercepted(ctx, obj, req.method, func(context.Context) (any, error) {
				return pyLocked(obj, func() (any, error) { return face.Repr(obj.value), nil })
			})
			if err != nil {
				return pyFailure(err)
			}
			return pyReturn(v)
		case "#GETVALUE":
			if face.Value == nil {
				return pyTraceback(fmt.Errorf("%s has no value to copy", face.TypeID))
			}
			v, err := pc.intercepted(ctx, obj, req.method, func(context.Context) (any, error) {
				return pyLocked(obj, func() (any, error) { return face.Value(obj.value) })
			})
			if err != nil {
				return pyFailure(err)
			}
			return pyReturn(v)
		}
		return pyTraceback(fmt.Errorf("AttributeError: method %q of %s object is not in exposed=%v", req.method, face.TypeID, face.Exposed))
	}
	pc.srv.pyPinProxies(req.args)
	var v any
	if len(pc.srv.opts.ServerInterceptors) == 0 {
		// No interceptors: no closure for them to run (it would be allocated per call).
		v, err = pyLocked(obj, func() (any, error) { return m(ctx, obj.value, req.args, req.kwds) })
	} else {
		v, err = pc.intercepted(ctx, obj, req.method, func(ctx context.Context) (any, error) {
			return pyLocked(obj, func() (any, error) { return m(ctx, obj.value, req.args, req.kwds) })
		})
	}
	if err != nil {
		return pyFailure(err)
	}
	return pyReturn(v)
}

// intercepted runs a CPython client's call behind the manager's interceptors, as
// dispatchObject runs a Go client's: slow-call logging, the call figures of the live page
// and OpenTelemetry see both. The method name is the Python one.
func (pc *pyConn) intercepted(ctx context.Context, obj *object, method string, run func(context.Context) (any, error)) (any, error) {
	interceptors := pc.srv.opts.ServerInterceptors
	if len(interceptors) == 0 {
		return run(ctx)
	}
	info := &CallInfo{TypeID: obj.desc.TypeID, Method: method, Object: obj.id, Session: CallerOf(ctx).ID()}
	var v any
	err := chain(ctx, info, interceptors, func(ctx context.Context) error {
		var err error
		v, err = run(ctx)
		return err
	})
	return v, err
}

// pyPinProxies keeps alive the objects of this manager that proxies among a call's
// arguments name (d['l'] = list_proxy): the value stored is the pickled proxy, which a
// later reader rebuilds, so its object must outlive the proxy that sent it. CPython's
// manager does the same (id_to_local_proxy_obj), for as long as it runs; so do we: the
// manager's own session holds one reference for each time a proxy was passed in.
func (s *Server) pyPinProxies(args []any) {
	var ids []uint64
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > 2 {
			return
		}
		switch x := v.(type) {
		case *pickle.Proxy:
			if id, err := s.pyObjectID(x.Token.ID); err == nil {
				ids = append(ids, id)
			}
		case []any:
			for _, e := range x {
				walk(e, depth+1)
			}
		case *pickle.Dict:
			for _, e := range x.Values() {
				walk(e, depth+1)
			}
		}
	}
	for _, a := range args {
		walk(a, 0)
	}
	if len(ids) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if obj := s.objects[id]; obj != nil {
			s.increfLocked(obj, s.internal)
		}
	}
}

// callToProxy runs a method whose result becomes a new shared object (method_to_typeid):
// the reply is #PROXY, and the object has one reference for the caller until its proxy
// increfs and the call's decref follows.
func (pc *pyConn) callToProxy(ctx context.Context, obj *object, face *PyType, req pyRequest, typeID string) pyReply {
	s := pc.srv
	rface := LookupPython(typeID)
	m := face.Methods[req.method]
	if rface == nil || m == nil {
		return pyTraceback(fmt.Errorf("%s.%s returns a %s, which this manager does not serve", face.TypeID, req.method, typeID))
	}
	desc := LookupType(rface.GoTypeID)
	if desc == nil {
		return pyTraceback(fmt.Errorf("typeid %s: its Go type %s is not registered", typeID, rface.GoTypeID))
	}
	v, err := pyLocked(obj, func() (any, error) { return m(ctx, obj.value, req.args, req.kwds) })
	if err != nil {
		return pyFailure(err)
	}
	id, err := s.pyAddObject(desc, rface, v, pc.holder)
	if err != nil {
		return pyTraceback(err)
	}
	tok := pickle.Token{TypeID: typeID, Address: pc.addr, ID: s.pyIdent(id)}
	return pyReply{kind: "#PROXY", value: pickle.MustTuple(pyNames(rface.Exposed), tok)}
}

// pyLocked runs fn under the object's lock when its type is Serialized, turning a panic
// into an error, as the Go front-end does.
func pyLocked(obj *object, fn func() (any, error)) (any, error) {
	if obj.desc.Serialized {
		obj.mu.Lock()
		defer obj.mu.Unlock()
	}
	return pyRun(fn)
}

func pyRun(fn func() (any, error)) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic%s: %v\n%s", panicSite(), p, debug.Stack())
		}
	}()
	return fn()
}

// pyDebugInfo is CPython's debug_info: one entry per object Python clients hold.
func (s *Server) pyDebugInfo() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var lines []string
	for _, obj := range s.objects {
		if obj.py == nil {
			continue
		}
		n := 0
		for _, k := range obj.refs.all {
			n += k
		}
		lines = append(lines, fmt.Sprintf("  %s:       refcount=%d\n    %s", s.pyIdent(obj.id), n, obj.py.TypeID))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
