// Nested shows proxies inside shared containers (seed 003): a proxy stored in a shared
// list or dict becomes, in the manager, a reference to its referent, so one shared
// object can contain another, and whoever reads it back gets a proxy of their own.
//
//	go run ./examples/nested
//
// First the seed's list-in-a-list, in one process. Then three worker processes that get
// only a dict of inboxes (a Dict of Lists): each looks up the others' inboxes in it and
// leaves a message in each.
package main

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

const numWorkers = 3

func init() {
	// Containers of proxies are generic instantiations like any other: register them in
	// every process (init runs in the manager and the workers too).
	syncmgr.RegisterList[*syncmgr.ListProxy[string]]()
	syncmgr.RegisterDict[string, *syncmgr.ListProxy[string]]()
	mgr.RegisterWorker("greeter", greeter)
}

func inboxName(i int) string { return fmt.Sprintf("worker-%d", i) }

// greeter appends a message to every other worker's inbox. It was given only the dict:
// each inbox proxy it uses comes out of the dict.
func greeter(ctx context.Context, w *mgr.WorkerEnv) error {
	inboxes, err := mgr.AttachArg(ctx, w, 0, syncmgr.AttachDict[string, *syncmgr.ListProxy[string]])
	if err != nil {
		return err
	}
	id, err := mgr.WorkerArg[int](w, 1)
	if err != nil {
		return err
	}
	for j := range numWorkers {
		if j == id {
			continue
		}
		inbox, err := inboxes.GetItem(ctx, inboxName(j))
		if err != nil {
			return err
		}
		msg := fmt.Sprintf("hello from worker %d (pid %d)", id, os.Getpid())
		if err := inbox.Append(ctx, msg); err != nil {
			return err
		}
		if err := inbox.Close(ctx); err != nil {
			return err
		}
	}
	fmt.Printf("worker %d: greeted %d others\n", id, numWorkers-1)
	return nil
}

func main() {
	mgr.RunChild() // first: a manager or worker process runs its role here and exits

	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "nested:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	m, err := syncmgr.Start(ctx, mgr.Options{})
	if err != nil {
		return err
	}
	defer m.Shutdown(context.Background())
	c := m.Client()

	// The seed's example: a.append(b); b.append('hello'); a[0] is b.
	a, err := syncmgr.CreateList[*syncmgr.ListProxy[string]](ctx, c, nil)
	if err != nil {
		return err
	}
	b, err := syncmgr.CreateList[string](ctx, c, nil)
	if err != nil {
		return err
	}
	if err := a.Append(ctx, b); err != nil { // a's referent now contains b's referent
		return err
	}
	if err := b.Append(ctx, "hello"); err != nil {
		return err
	}
	inner, err := a.Get(ctx, 0) // a proxy of our own to the list inside a
	if err != nil {
		return err
	}
	got, err := inner.Copy(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("a[0] after b.Append(\"hello\"): %q (same object as b: %v)\n", got, inner.ObjectID() == b.ObjectID())

	// Inboxes: one List per worker, reachable only through the dict once we let go.
	inboxes, err := syncmgr.CreateDict[string, *syncmgr.ListProxy[string]](ctx, c)
	if err != nil {
		return err
	}
	for i := range numWorkers {
		l, err := syncmgr.CreateList[string](ctx, c, nil)
		if err != nil {
			return err
		}
		if err := inboxes.Set(ctx, inboxName(i), l); err != nil {
			return err
		}
		// The dict holds a reference now; ours can go without the list going with it.
		if err := l.Close(ctx); err != nil {
			return err
		}
	}

	var procs []*mgr.Process
	for i := range numWorkers {
		p, err := m.Spawn(ctx, "greeter", inboxes, i)
		if err != nil {
			return err
		}
		procs = append(procs, p)
	}
	for _, p := range procs {
		if _, err := p.Wait(ctx); err != nil {
			return err
		}
	}

	for i := range numWorkers {
		inbox, err := inboxes.GetItem(ctx, inboxName(i))
		if err != nil {
			return err
		}
		msgs, err := inbox.Copy(ctx)
		if err != nil {
			return err
		}
		slices.Sort(msgs)
		fmt.Printf("inbox of %s: %d messages\n", inboxName(i), len(msgs))
		for _, msg := range msgs {
			fmt.Printf("  %s\n", msg)
		}
	}
	return nil
}
