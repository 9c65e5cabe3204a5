package mgr

import (
	"context"
	"crypto/rand"
	"fmt"
	"reflect"
	"runtime/debug"
	"time"

	"github.com/mgr-go/mgr/internal/wire"
)

// The manager's own methods: create, release, tokens, attach, lookup, introspection.

func (s *Server) control(ctx context.Context, sess *session, method uint64, args *Decoder, res *Encoder) (err error) {
	switch method {
	case wire.CtlHello:
		pid, prog, maxFrame, base := args.Int64(), args.String(), args.Uint64(), args.Uint64()
		if err := args.Done(); err != nil {
			return err
		}
		if maxFrame < 1<<10 || maxFrame > wire.MaxFrameLimit {
			return fmt.Errorf("mgr: a client's largest frame must be between 1 KiB and %d bytes, not %d", wire.MaxFrameLimit, maxFrame)
		}
		sess.peerMax.Store(int64(maxFrame))
		sess.cmu.Lock()
		sess.seen.setBase(base)
		sess.cmu.Unlock()
		s.mu.Lock()
		sess.pid, sess.program = int(pid), cut(prog, maxProgram)
		s.mu.Unlock()
		res.Uint64(sess.id)
		res.Uint64(s.epoch)
		res.ByteSlice(sess.token[:])
		sess.lmu.Lock()
		sess.helloed = true
		sess.lmu.Unlock()
		return nil

	case wire.CtlCreate, wire.CtlCreatePipe:
		name := args.stringBytes()
		if err := args.Err(); err != nil {
			return err
		}
		desc := s.lookupTypeIn(name)
		if desc == nil {
			return callError(ErrUnknownType, "%q is not registered in the manager process (link its package into the manager binary; instances of generic types need their RegisterT[...]() call in init)", name)
		}
		typeID := desc.TypeID
		if desc.New == nil {
			return fmt.Errorf("mgr: %s cannot be created by clients (it has no constructor)", typeID)
		}
		value, err := s.construct(ctx, desc, args)
		if err != nil {
			return err
		}
		if isNil(value) {
			return fmt.Errorf("mgr: the constructor of %s returned nil without an error", typeID)
		}
		if err := args.Done(); err != nil {
			return fmt.Errorf("mgr: constructor arguments of %s: %w", typeID, err)
		}
		s.mu.Lock()
		obj, err := s.addObjectLocked(desc, value, sess)
		s.mu.Unlock()
		if err != nil {
			return err
		}
		res.refs = append(res.refs, obj.id) // a reply nobody takes gives it back
		res.Uint64(obj.id)
		return nil

	case wire.CtlRelease:
		id := args.Uint64()
		if err := args.Done(); err != nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		obj := s.objects[id]
		if obj == nil {
			return callError(ErrUnknownObject, "release of object #%d, which does not exist", id)
		}
		return s.decrefLocked(obj, sess)

	case wire.CtlToken:
		id := args.Uint64()
		if err := args.Done(); err != nil {
			return err
		}
		var secret [16]byte
		rand.Read(secret[:])
		s.mu.Lock()
		defer s.mu.Unlock()
		obj := s.objects[id]
		if obj == nil {
			return callError(ErrUnknownObject, "token for object #%d, which does not exist", id)
		}
		if obj.refs.get(sess.id) <= 0 {
			return callError(ErrReleased, "session %d holds no reference to %s#%d", sess.id, obj.desc.TypeID, id)
		}
		obj.tokens++
		s.tokens[secret] = &handoff{objID: id, session: sess.id, timer: time.AfterFunc(s.opts.tokenTTL(), func() { s.expireToken(secret) })}
		res.ByteSlice(secret[:])
		// A backend shared by several managers may make it a token of its cluster
		// (backend_share.go): it asks its store, not under the table's lock.
		s.mu.Unlock()
		err := s.shareToken(ctx, id, secret, res)
		s.mu.Lock()
		if err != nil {
			if h := s.tokens[secret]; h != nil {
				s.dropTokenLocked(secret, h)
			}
		}
		return err

	case wire.CtlAttach:
		id, secret, epoch, err := readToken(args)
		if err != nil {
			return err
		}
		if sh, ok := s.sharer(epoch); ok {
			return s.attachShared(ctx, sess, sh, id, secret, res) // backend_share.go
		}
		if epoch != 0 && epoch != s.epoch {
			return callError(ErrManagerRestarted, "the token for object #%d was made by an earlier run of the manager, whose objects are gone", id)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		h := s.tokens[secret]
		if h == nil || h.objID != id {
			return callError(ErrBadToken, "token for object #%d is unknown, already attached, or expired", id)
		}
		obj := s.objects[id]
		if err := s.increfLocked(obj, sess); err != nil {
			return err // the token stays for a live session to attach
		}
		h.timer.Stop()
		delete(s.tokens, secret)
		obj.tokens--
		res.refs = append(res.refs, id)
		// A caller that gave up on the reply may attach again: the token comes back
		// (before its reference goes, so the object stays).
		res.undo = append(res.undo, func() { s.restoreToken(secret, id, h.session) })
		res.Uint64(id)
		res.String(obj.desc.TypeID)
		return nil

	case wire.CtlLookup:
		name := args.String()
		if err := args.Done(); err != nil {
			return err
		}
		if err := s.lookupBackendNamed(ctx, name); err != nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		id, ok := s.named[name]
		if !ok {
			return callError(ErrUnknownObject, "the manager has no object named %q", name)
		}
		obj := s.objects[id]
		if err := s.increfLocked(obj, sess); err != nil {
			return err
		}
		res.refs = append(res.refs, id)
		res.Uint64(id)
		res.String(obj.desc.TypeID)
		return nil

	case wire.CtlInfo:
		sessAfter, objAfter := args.Uint64(), args.Uint64()
		if err := args.Done(); err != nil {
			return err
		}
		page := s.infoPage(sessAfter, objAfter, sess.replyLimit()/2)
		res.Value(&page)
		return nil

	case wire.CtlShutdown:
		drain := args.Uint64() // the caller's time left, ns; 0: none (DrainTimeout)
		if err := args.Done(); err != nil {
			return err
		}
		dctx, cancel := context.Background(), context.CancelFunc(func() {})
		if drain > 0 && drain < 1<<62 {
			dctx, cancel = context.WithTimeout(dctx, time.Duration(drain))
		}
		s.mu.RLock()
		why := fmt.Sprintf("shutdown requested by session %d (pid %d, %s)", sess.id, sess.pid, sess.program)
		s.mu.RUnlock()
		go func() {
			defer cancel()
			s.shutdown(dctx, why)
		}()
		return nil

	case wire.CtlMethods:
		typeID := args.String()
		if err := args.Done(); err != nil {
			return err
		}
		desc := s.lookupType(typeID)
		if desc == nil {
			return callError(ErrUnknownType, "%q is not registered in the manager process", typeID)
		}
		res.Len(len(desc.Methods))
		for _, m := range desc.Methods {
			res.String(m.Name)
			res.String(m.Sig)
		}
		return nil

	case wire.CtlRevoke:
		id, secret, epoch, err := readToken(args)
		if err != nil {
			return err
		}
		if _, ok := s.sharer(epoch); ok {
			return nil // a token of the cluster: its hand-over expires in the store
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		h := s.tokens[secret]
		if h == nil || h.objID != id || h.session != sess.id {
			return callError(ErrBadToken, "token for object #%d is unknown, attached, expired, or not this session's", id)
		}
		s.dropTokenLocked(secret, h)
		return nil

	case wire.CtlReleaseN:
		n := args.Uint64()
		if args.Err() == nil && n > uint64(args.Remaining()) {
			return fmt.Errorf("%w: %d releases in %d bytes", ErrDecode, n, args.Remaining())
		}
		ids := make([]uint64, 0, n)
		for range n {
			ids = append(ids, args.Uint64())
		}
		// Then the pipelined creates whose results the client releases (pipeline.go).
		var pipes []uint64
		if args.Err() == nil && args.Remaining() > 0 {
			m := args.Uint64()
			if args.Err() == nil && m > uint64(args.Remaining()) {
				return fmt.Errorf("%w: %d pipelined releases in %d bytes", ErrDecode, m, args.Remaining())
			}
			pipes = make([]uint64, 0, m)
			for range m {
				pipes = append(pipes, args.Uint64())
			}
		}
		if err := args.Done(); err != nil {
			return err
		}
		failed := 0
		s.mu.Lock()
		for _, id := range ids {
			obj := s.objects[id]
			if obj == nil || s.decrefLocked(obj, sess) != nil {
				failed++
			}
		}
		s.mu.Unlock()
		if len(pipes) > 0 {
			failed += sess.releasePromises(pipes)
		}
		res.Uint64(uint64(failed))
		return nil
	}
	return callError(ErrUnknownMethod, "the manager has no control method #%d", method)
}

// isNil reports whether v is nil or a nil pointer in an interface.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

func (s *Server) construct(ctx context.Context, desc *TypeDesc, args *Decoder) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &RemoteError{Msg: fmt.Sprintf("constructor of %s panicked: %v", desc.TypeID, p), Sentinel: ErrPanic, Stack: string(debug.Stack())}
		}
	}()
	return desc.New(ctx, args)
}

func (s *Server) expireToken(secret [16]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.tokens[secret]; h != nil {
		s.dropTokenLocked(secret, h)
	}
}

// dropTokenLocked forgets a hand-over that was not attached: it expired, or its maker
// revoked it.
func (s *Server) dropTokenLocked(secret [16]byte, h *handoff) {
	h.timer.Stop()
	delete(s.tokens, secret)
	if obj := s.objects[h.objID]; obj != nil {
		obj.tokens--
		s.maybeRemoveLocked(obj)
	}
}

// restoreToken makes an attached token attachable again: its Attach's reply was never
// taken (calls.go).
func (s *Server) restoreToken(secret [16]byte, id, maker uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj := s.objects[id]
	if obj == nil || s.shutting.Load() {
		return
	}
	obj.tokens++
	s.tokens[secret] = &handoff{objID: id, session: maker, timer: time.AfterFunc(s.opts.tokenTTL(), func() { s.expireToken(secret) })}
}

// readToken reads a token's object ID, secret and epoch (0: made by a client that does
// not know it), the arguments of Attach and Revoke.
func readToken(args *Decoder) (id uint64, secret [16]byte, epoch uint64, err error) {
	id = args.Uint64()
	b := args.ByteSlice()
	epoch = args.Uint64()
	if err := args.Done(); err != nil {
		return 0, secret, 0, err
	}
	if len(b) != len(secret) {
		return 0, secret, 0, callError(ErrBadToken, "malformed token secret")
	}
	copy(secret[:], b)
	return id, secret, epoch, nil
}

// maxProgram bounds the program name a client gives in Hello, which Info carries.
const maxProgram = 1 << 10

// controlName names a control method for errors.
func controlName(method uint64) string {
	names := [...]string{
		wire.CtlCreate: "Create", wire.CtlRelease: "Release", wire.CtlToken: "Token",
		wire.CtlAttach: "Attach", wire.CtlLookup: "Lookup", wire.CtlInfo: "Info",
		wire.CtlShutdown: "Shutdown", wire.CtlHello: "Hello", wire.CtlRevoke: "Revoke",
		wire.CtlReleaseN: "Release", wire.CtlMethods: "Methods", wire.CtlCreatePipe: "Create",
	}
	if method < uint64(len(names)) {
		return "manager." + names[method]
	}
	return fmt.Sprintf("manager control method %d", method)
}
