// Pair is seed 004's example of restricting what a shared object exposes
// (register('get_pair', callable=lambda: pair, exposed=['get_x'])).
//
//	go run ./examples/pair
//
// The manager (a child process) owns one Pair{X: 5, Y: 6} under the name "pair". A
// worker process looks it up and calls GetX. The Pair also has GetY, SetX and SetY, but
// //mgr:expose methods=GetX leaves them out: PairProxy has no SetX, so
// pair.SetX(ctx, 7) does not compile, and when the worker forges a call to a method
// that is not exposed, the manager refuses it with mgr.ErrUnknownMethod.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/mgr-go/mgr/runtime/mgr"
)

func init() {
	// The initializer runs in the manager process before it accepts connections: it
	// makes the shared instance, as Python's callable=lambda: pair.
	mgr.RegisterInitializer("pair", func(s *mgr.Server) error {
		return s.AddNamed("pair", PairTypeID, &Pair{X: 5, Y: 6})
	})
	mgr.RegisterWorker("pair-user", pairUser)
}

// pairUser runs in a worker process.
func pairUser(ctx context.Context, w *mgr.WorkerEnv) error {
	pair, err := LookupPair(ctx, w.Client(), "pair")
	if err != nil {
		return err
	}
	x, err := pair.GetX(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("worker (pid %d): pair.GetX() = %d\n", os.Getpid(), x)

	// pair.SetX(ctx, 7) would not compile: PairProxy has no SetX. A call forged by hand
	// (method #1, as if SetX were exposed) reaches the manager, whose dispatch table
	// for Pair holds GetX alone, and is refused there.
	call := pair.Begin(1)
	call.Args.Int64(7)
	_, err = call.Do(ctx)
	if !errors.Is(err, mgr.ErrUnknownMethod) {
		return fmt.Errorf("forged call: got %v, want mgr.ErrUnknownMethod", err)
	}
	fmt.Printf("worker (pid %d): forged call to a hidden method refused: %v\n", os.Getpid(), err)
	return nil
}

func main() {
	mgr.RunChild() // first: a manager or worker process runs its role here and exits

	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "pair:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	m, err := mgr.Start(ctx, mgr.Options{Initializer: "pair"})
	if err != nil {
		return err
	}
	defer m.Shutdown(context.Background())

	var exposed []string
	for _, meth := range mgr.LookupType(PairTypeID).Methods {
		exposed = append(exposed, meth.Name)
	}
	fmt.Printf("main: Pair has methods GetX, GetY, SetX, SetY; the manager exposes %v\n", exposed)

	p, err := m.Spawn(ctx, "pair-user")
	if err != nil {
		return err
	}
	if _, err := p.Wait(ctx); err != nil {
		return err
	}
	fmt.Println("main: done")
	return nil
}
