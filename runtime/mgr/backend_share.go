package mgr

import (
	"context"
	"time"
)

// Sharer is a Backend whose created objects any manager sharing its store can attach:
// a token of such an object carries the cluster's identity (ClusterEpoch) and the
// object's cluster-wide ID instead of one manager's epoch and table ID, so a client of
// another manager of the same cluster attaches it there (Client.Attach), and the
// object lives while a holder on any manager lives.
type Sharer interface {
	Backend
	// ClusterEpoch names the store shared by the managers (nonzero, and not the epoch
	// of any one manager): the Epoch of the tokens of shared objects.
	ClusterEpoch() uint64
	// Share records in the store a hand-over of value, an object the manager holds,
	// under secret, that keeps the object alive in the store until it is taken (Open)
	// or ttl has passed, and returns its cluster-wide ID. ok false: value is not an
	// object the store can share (a named one, or one kept in memory), and the token
	// is the manager's own.
	Share(ctx context.Context, value any, secret [16]byte, ttl time.Duration) (id uint64, ok bool, err error)
	// Open takes the hand-over Share recorded (once, cluster-wide) and returns the
	// object's TypeID and the value this manager calls its methods on; the manager
	// holds it until its Released (see Releaser). An error wrapping ErrBadToken says
	// the hand-over is unknown, taken, or its object gone.
	Open(ctx context.Context, id uint64, secret [16]byte) (typeID string, value any, err error)
}

// sharer returns the manager's backend as a Sharer when epoch is its cluster's.
func (s *Server) sharer(epoch uint64) (Sharer, bool) {
	sh, ok := s.backend.get().(Sharer)
	if !ok || epoch == 0 || epoch != sh.ClusterEpoch() {
		return nil, false
	}
	return sh, true
}

// shareToken makes the token of object id, whose hand-over secret the manager has just
// recorded, one that any manager of the backend's cluster can attach: it appends the
// cluster's epoch and the object's cluster-wide ID to the reply (the client puts them
// in the Token), and drops the manager's own hand-over — the store's keeps the object
// alive until attached or expired. Without a Sharer, or for an object the store cannot
// share, it appends nothing.
func (s *Server) shareToken(ctx context.Context, id uint64, secret [16]byte, res *Encoder) error {
	sh, ok := s.backend.get().(Sharer)
	if !ok {
		return nil
	}
	obj := s.lookup(id)
	if obj == nil {
		return nil
	}
	cid, ok, err := sh.Share(ctx, obj.value, secret, s.opts.tokenTTL())
	if err != nil || !ok {
		return err
	}
	res.Uint64(sh.ClusterEpoch())
	res.Uint64(cid)
	s.mu.Lock()
	if h := s.tokens[secret]; h != nil {
		s.dropTokenLocked(secret, h)
	}
	s.mu.Unlock()
	return nil
}

// attachShared attaches a token of the backend's cluster, made by any of its managers:
// the backend opens the object and it enters the table with one reference for sess.
func (s *Server) attachShared(ctx context.Context, sess *session, sh Sharer, id uint64, secret [16]byte, res *Encoder) error {
	typeID, value, err := sh.Open(ctx, id, secret)
	if err != nil {
		return err
	}
	desc := s.lookupType(typeID)
	if desc == nil {
		releaseRemoved(value)
		return callError(ErrUnknownType, "%q (the type of shared object #%d) is not registered in the manager process", typeID, id)
	}
	s.mu.Lock()
	obj, err := s.addObjectLocked(desc, value, sess)
	s.mu.Unlock()
	if err != nil {
		releaseRemoved(value)
		return err
	}
	// The hand-over is taken in the store: a reply nobody takes drops the reference
	// and cannot give the token back.
	res.refs = append(res.refs, obj.id)
	res.Uint64(obj.id)
	res.String(desc.TypeID)
	return nil
}
