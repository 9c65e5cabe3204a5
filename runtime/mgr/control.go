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
		pid, prog := args.Int64(), args.String()
		if err := args.Done(); err != nil {
			return err
		}
		s.mu.Lock()
		sess.pid, sess.program = int(pid), prog
		s.mu.Unlock()
		res.Uint64(sess.id)
		return nil

	case wire.CtlCreate:
		typeID := args.String()
		if err := args.Err(); err != nil {
			return err
		}
		desc := LookupType(typeID)
		if desc == nil {
			return callError(ErrUnknownType, "%q is not registered in the manager process (link its package into the manager binary; instances of generic types need their RegisterT[...]() call in init)", typeID)
		}
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
		s.tokens[secret] = &handoff{objID: id, timer: time.AfterFunc(s.opts.tokenTTL(), func() { s.expireToken(secret) })}
		res.ByteSlice(secret[:])
		return nil

	case wire.CtlAttach:
		id := args.Uint64()
		b := args.ByteSlice()
		if err := args.Done(); err != nil {
			return err
		}
		var secret [16]byte
		if len(b) != len(secret) {
			return callError(ErrBadToken, "malformed token secret")
		}
		copy(secret[:], b)
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
		res.Uint64(id)
		res.String(obj.desc.TypeID)
		return nil

	case wire.CtlLookup:
		name := args.String()
		if err := args.Done(); err != nil {
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
		res.Uint64(id)
		res.String(obj.desc.TypeID)
		return nil

	case wire.CtlInfo:
		if err := args.Done(); err != nil {
			return err
		}
		info := s.Info()
		res.Value(&info)
		return nil

	case wire.CtlShutdown:
		if err := args.Done(); err != nil {
			return err
		}
		go s.Shutdown(context.Background())
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
	h := s.tokens[secret]
	if h == nil {
		return
	}
	delete(s.tokens, secret)
	if obj := s.objects[h.objID]; obj != nil {
		obj.tokens--
		s.maybeRemoveLocked(obj)
	}
}
