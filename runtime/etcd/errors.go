package etcd

import (
	"context"
	"errors"
	"fmt"

	"github.com/mgr-go/mgr/runtime/mgr"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var (
	// ErrUnavailable: etcd did not answer in time or refused for lack of a quorum. The
	// operation was not applied, or was applied whole (every change is one transaction);
	// retry when etcd is back.
	ErrUnavailable = errors.New("etcd: the store is unavailable")
	// ErrUnsupported: the method exists on the type but the etcd backend does not
	// implement it yet.
	ErrUnsupported = errors.New("etcd: method not supported by the etcd backend")
	// ErrLeaseLost: the session's etcd lease expired while the session lived (etcd, or the
	// manager, could not renew it within the TTL): what it held (locks, queue claims) is
	// gone, as if it had died; its next call gets a new lease.
	ErrLeaseLost = errors.New("etcd: the session's lease expired")
)

func init() {
	mgr.RegisterError("etcd.ErrUnavailable", ErrUnavailable)
	mgr.RegisterError("etcd.ErrUnsupported", ErrUnsupported)
	mgr.RegisterError("etcd.ErrLeaseLost", ErrLeaseLost)
}

// storeErr turns an etcd client error into one a client can act on: a lost quorum or a
// timeout becomes ErrUnavailable; the caller's own cancellation stays itself.
func storeErr(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
	if errors.Is(err, rpctypes.ErrLeaseNotFound) || errors.Is(err, rpctypes.ErrGRPCLeaseNotFound) {
		// The session's lease expired (its manager could not renew it in time): what it
		// held is gone; the session's next call gets a new lease.
		return fmt.Errorf("%w: %s: %v", ErrLeaseLost, op, err)
	}
	if errors.Is(err, context.Canceled) || status.Code(err) == codes.Canceled {
		// Not the caller's (above): the operation's timer (Backend.op), or the backend
		// closing.
		return fmt.Errorf("%w: %s: no answer within the operation timeout (Config.OpTimeout), or the manager is closing: %v", ErrUnavailable, op, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, op, err)
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.Aborted:
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, op, err)
	}
	return fmt.Errorf("etcd: %s: %w", op, err)
}
