package etcd

import (
	"context"
	"errors"
	"fmt"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Serve runs a manager on opts.Address (which must be set, like opts.AuthKey) whose
// objects live in etcd as cfg says, until ctx ends or a client shuts it down. setup, if
// not nil, runs once the backend is connected and before clients are served: declare
// the named objects there (Backend.Declare; declaring one that exists finds it). Any
// number of managers may serve the same etcd and prefix: they share every named object.
func Serve(ctx context.Context, opts mgr.Options, cfg Config, setup func(context.Context, *Backend) error) error {
	if opts.Address.Network == "" {
		return errors.New("etcd: Serve needs Options.Address")
	}
	b, err := New(ctx, cfg)
	if err != nil {
		return err
	}
	defer b.Close()
	srv, err := mgr.NewServer(opts)
	if err != nil {
		return err
	}
	if err := srv.SetBackend(b); err != nil {
		return err
	}
	if setup != nil {
		if err := setup(ctx, b); err != nil {
			return fmt.Errorf("etcd: setup: %w", err)
		}
	}
	ln, err := mgr.Listen(opts.Address, opts.TLS)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		return srv.Shutdown(context.Background())
	case <-srv.Done():
		return nil
	case err := <-errc:
		srv.Shutdown(context.Background())
		return err
	}
}

// Connect connects to the first of the managers at addrs that answers, trying them in
// turn from addrs[start%len(addrs)], and returns the client and the index of its
// manager. A client whose manager died connects again with the next index: every
// manager serves the same objects (look them up again by name; what its old session held
// is released when that session's lease expires).
func Connect(ctx context.Context, opts mgr.Options, addrs []mgr.Address, start int) (*mgr.Client, int, error) {
	if len(addrs) == 0 {
		return nil, 0, errors.New("etcd: Connect needs manager addresses")
	}
	var errs []error
	for i := range addrs {
		k := (start + i) % len(addrs)
		o := opts
		o.Address = addrs[k]
		c, err := mgr.Connect(ctx, o)
		if err == nil {
			return c, k, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", addrs[k], err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, 0, fmt.Errorf("etcd: no manager answered: %w", errors.Join(errs...))
}
