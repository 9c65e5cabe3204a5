package mgr_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mgr-go/mgr/internal/testnet"
	"github.com/mgr-go/mgr/runtime/mgr"
)

// Pipelined creates (Client.CreatePipelined): the tests run their managers as child
// processes, and check what the manager holds through Client.Info.

// piped is the object of the pipelining tests. Its constructor does what its mode says:
// succeed, fail with errTooBig, panic, or wait for a gate (pipeGate) or its ctx.
type piped struct {
	mu sync.Mutex
	n  int64
}

const (
	pipedTypeID   = "mgr_test.piped"
	pipeGateType  = "mgr_test.pipeGate"
	modeOK        = 0
	modeFail      = 1
	modePanic     = 2
	modeWaitGate  = 3
	mPipedAdd     = 0
	mGateEntered2 = 0
	mGateOpen2    = 1
)

// gates are the constructor gates of the manager process, by name: a constructor in
// modeWaitGate closes entered and waits for open (or its ctx).
var gates = struct {
	sync.Mutex
	m map[string]*ctorGate
}{m: map[string]*ctorGate{}}

type ctorGate struct {
	entered, open       chan struct{}
	enterOnce, openOnce sync.Once
}

func gateNamed(name string) *ctorGate {
	gates.Lock()
	defer gates.Unlock()
	g := gates.m[name]
	if g == nil {
		g = &ctorGate{entered: make(chan struct{}), open: make(chan struct{})}
		gates.m[name] = g
	}
	return g
}

func init() {
	mgr.Register(&mgr.TypeDesc{
		TypeID: pipedTypeID,
		New: func(ctx context.Context, args *mgr.Decoder) (any, error) {
			mode, gate := args.Int64(), args.String()
			if err := args.Done(); err != nil {
				return nil, err
			}
			switch mode {
			case modeFail:
				return nil, errTooBig
			case modePanic:
				panic("constructor boom")
			case modeWaitGate:
				g := gateNamed(gate)
				g.enterOnce.Do(func() { close(g.entered) })
				select {
				case <-g.open:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			return &piped{}, nil
		},
		Methods: []mgr.Method{
			mPipedAdd: {Name: "Add", Inline: true, Call: func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
				d := args.Int64()
				if err := args.Done(); err != nil {
					return err
				}
				p := obj.(*piped)
				p.mu.Lock()
				defer p.mu.Unlock()
				p.n += d
				res.Int64(p.n)
				return nil
			}},
		},
	})
	// pipeGate opens and watches the constructor gates from the test process.
	mgr.Register(&mgr.TypeDesc{
		TypeID: pipeGateType,
		New:    func(ctx context.Context, args *mgr.Decoder) (any, error) { return &struct{}{}, args.Done() },
		Methods: []mgr.Method{
			// Entered returns once a constructor waits at the gate.
			mGateEntered2: {Name: "Entered", TakesContext: true, Call: func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
				g := gateNamed(args.String())
				if err := args.Done(); err != nil {
					return err
				}
				select {
				case <-g.entered:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}},
			mGateOpen2: {Name: "Open", Inline: true, Call: func(ctx context.Context, obj any, args *mgr.Decoder, res *mgr.Encoder) error {
				g := gateNamed(args.String())
				g.openOnce.Do(func() { close(g.open) })
				return args.Done()
			}},
		},
	})
}

type pipedProxy struct{ mgr.ProxyBase }

func createPiped(ctx context.Context, c *mgr.Client, mode int64, gate string) (*pipedProxy, error) {
	h, err := c.CreatePipelined(ctx, pipedTypeID, func(e *mgr.Encoder) {
		e.Int64(mode)
		e.String(gate)
	})
	if err != nil {
		return nil, err
	}
	return &pipedProxy{mgr.MakeProxyBase(h)}, nil
}

func (p *pipedProxy) Add(ctx context.Context, d int64) (int64, error) {
	c := p.Begin(mPipedAdd)
	c.Args.Int64(d)
	res, err := c.Do(ctx)
	if err != nil {
		return 0, err
	}
	n := res.Int64()
	return n, c.End()
}

type gateProxy struct{ mgr.ProxyBase }

func newGate(t *testing.T, ctx context.Context, c *mgr.Client) *gateProxy {
	t.Helper()
	h, err := c.Create(ctx, pipeGateType, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &gateProxy{mgr.MakeProxyBase(h)}
}

func (g *gateProxy) call(ctx context.Context, method int, name string) error {
	c := g.Begin(method)
	c.Args.String(name)
	if _, err := c.Do(ctx); err != nil {
		return err
	}
	return c.End()
}

// Entered waits until a constructor waits at gate name.
func (g *gateProxy) Entered(ctx context.Context, name string) error {
	return g.call(ctx, mGateEntered2, name)
}

// Open lets the constructors waiting at gate name go on.
func (g *gateProxy) Open(ctx context.Context, name string) error {
	return g.call(ctx, mGateOpen2, name)
}

// holdings is what the manager holds for one session, seen through Client.Info.
type holdings struct {
	refs, pipelined, pipedObjects int
}

func holdingsOf(t *testing.T, ctx context.Context, c *mgr.Client) holdings {
	t.Helper()
	info, err := c.Info(ctx) // a call: the releases queued before it go first
	if err != nil {
		t.Fatal(err)
	}
	var h holdings
	for _, s := range info.Sessions {
		if s.ID == c.SessionID() {
			h.refs, h.pipelined = s.Refs, s.Pipelined
		}
	}
	for _, o := range info.Objects {
		if o.TypeID == pipedTypeID {
			h.pipedObjects++
		}
	}
	return h
}

// A pipelined create whose constructor fails gives its error to the calls made through
// the proxy before the create was answered (in the manager) and after (in the client),
// and to Ready; the manager made nothing, and forgets the failure when the proxy closes.
func TestPipelinedCreateFails(t *testing.T) {
	ctx := testCtx(t)
	m := startChildManager(t)
	c := m.Client()
	before := holdingsOf(t, ctx, c)
	for _, tc := range []struct {
		name string
		mode int64
		want error
	}{{"error", modeFail, errTooBig}, {"panic", modePanic, mgr.ErrPanic}} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := createPiped(ctx, c, tc.mode, "")
			if err != nil {
				t.Fatalf("CreatePipelined: %v", err)
			}
			_, err = p.Add(ctx, 1) // sent with the create: the manager answers it
			if !errors.Is(err, tc.want) {
				t.Fatalf("first call: %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), "pipelined") {
				t.Errorf("first call's error does not say it was pipelined: %v", err)
			}
			if _, err := p.Add(ctx, 1); !errors.Is(err, tc.want) { // the client knows by now
				t.Fatalf("second call: %v, want %v", err, tc.want)
			}
			if err := p.Handle().Ready(ctx); !errors.Is(err, tc.want) {
				t.Fatalf("Ready: %v, want %v", err, tc.want)
			}
			if _, err := p.Token(ctx); !errors.Is(err, tc.want) {
				t.Fatalf("Token: %v, want %v", err, tc.want)
			}
			got := holdingsOf(t, ctx, c)
			if got.pipedObjects != 0 || got.refs != before.refs || got.pipelined != before.pipelined+1 {
				t.Fatalf("before Close the manager holds %+v, want no object, %d refs, one failed create kept (was %+v)", got, before.refs, before)
			}
			if err := p.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if got := holdingsOf(t, ctx, c); got != before {
				t.Fatalf("after Close the manager holds %+v, want %+v: the failed create leaked", got, before)
			}
		})
	}
}

// Create, call and release in a loop: every call runs exactly once on its own new object,
// and nothing is left. A proxy made pipelined also hands over by token like any other.
func TestPipelinedCreateCallRelease(t *testing.T) {
	ctx := testCtx(t)
	m := startChildManager(t)
	c := m.Client()
	before := holdingsOf(t, ctx, c)
	for i := range 200 {
		p, err := createPiped(ctx, c, modeOK, "")
		if err != nil {
			t.Fatal(err)
		}
		if n, err := p.Add(ctx, 1); err != nil || n != 1 {
			t.Fatalf("round %d: Add = %d, %v; want 1", i, n, err)
		}
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Closed before the create was answered, with no call at all.
	p, err := createPiped(ctx, c, modeOK, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The constructor runs in a goroutine of its own (it takes a ctx): the release came
	// before it ended, and the manager drops the object when it does, before its reply.
	if err := p.Handle().Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if got := holdingsOf(t, ctx, c); got != before {
		t.Fatalf("the manager holds %+v, want %+v", got, before)
	}

	// A token, and an attach from another client.
	p, err = createPiped(ctx, c, modeOK, "")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := p.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok.ObjectID == 0 || tok.ObjectID != p.ObjectID() || !strings.Contains(p.String(), "#") {
		t.Fatalf("token for #%d, proxy %s (ObjectID %d)", tok.ObjectID, p, p.ObjectID())
	}
	c2, err := mgr.Connect(ctx, m.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	h, err := c2.Attach(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	q := &pipedProxy{mgr.MakeProxyBase(h)}
	if n, err := q.Add(ctx, 5); err != nil || n != 5 {
		t.Fatalf("Add through the attached proxy = %d, %v", n, err)
	}
	q.Close(ctx)
	if _, err := c2.Info(ctx); err != nil { // c2's release goes out with it
		t.Fatal(err)
	}
	p.Close(ctx)
	if got := holdingsOf(t, ctx, c); got != before {
		t.Fatalf("the manager holds %+v, want %+v", got, before)
	}
}

// A call pipelined on a create that takes time waits for it in the manager, without
// holding up the session's other calls.
func TestPipelinedCallWaitsForCreate(t *testing.T) {
	ctx := testCtx(t)
	m := startChildManager(t)
	c := m.Client()
	gate := newGate(t, ctx, c)
	other, err := createCounter(ctx, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	before := holdingsOf(t, ctx, c)

	p, err := createPiped(ctx, c, modeWaitGate, "slow")
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() {
		n, err := p.Add(ctx, 1)
		if err == nil && n != 1 {
			err = fmt.Errorf("Add returned %d, want 1", n)
		}
		res <- err
	}()
	if err := gate.Entered(ctx, "slow"); err != nil {
		t.Fatal(err)
	}
	// The session goes on while the create and the call waiting for it are held up.
	for range 10 {
		if _, err := other.Add(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-res:
		t.Fatalf("the pipelined call returned (%v) before its create could finish", err)
	default:
	}
	if err := gate.Open(ctx, "slow"); err != nil {
		t.Fatal(err)
	}
	if err := <-res; err != nil {
		t.Fatalf("pipelined Add: %v", err)
	}
	p.Close(ctx)
	if got := holdingsOf(t, ctx, c); got != before {
		t.Fatalf("the manager holds %+v, want %+v", got, before)
	}
}

// Cancellation: a pipelined call cancelled while its create runs ends with its ctx's
// error and leaves the create alone; a create cancelled with calls queued on it gives them
// its error. Nothing is left either way.
func TestPipelinedCancel(t *testing.T) {
	ctx := testCtx(t)
	m := startChildManager(t)
	c := m.Client()
	gate := newGate(t, ctx, c)
	before := holdingsOf(t, ctx, c)

	t.Run("call", func(t *testing.T) {
		p, err := createPiped(ctx, c, modeWaitGate, "call")
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		res := make(chan error, 1)
		go func() {
			_, err := p.Add(cctx, 1)
			res <- err
		}()
		if err := gate.Entered(ctx, "call"); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := <-res; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled pipelined call: %v, want context.Canceled", err)
		}
		if err := gate.Open(ctx, "call"); err != nil {
			t.Fatal(err)
		}
		if err := p.Handle().Ready(ctx); err != nil {
			t.Fatalf("the create after its call was cancelled: %v", err)
		}
		if n, err := p.Add(ctx, 1); err != nil || n != 1 {
			t.Fatalf("Add after the cancelled one = %d, %v; want 1 (the cancelled call must not have run)", n, err)
		}
		p.Close(ctx)
		if got := holdingsOf(t, ctx, c); got != before {
			t.Fatalf("the manager holds %+v, want %+v", got, before)
		}
	})

	t.Run("create", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		p, err := createPiped(cctx, c, modeWaitGate, "create")
		if err != nil {
			t.Fatal(err)
		}
		const queued = 3
		res := make(chan error, queued)
		for range queued {
			go func() {
				_, err := p.Add(ctx, 1)
				res <- err
			}()
		}
		if err := gate.Entered(ctx, "create"); err != nil {
			t.Fatal(err)
		}
		cancel()
		for range queued {
			if err := <-res; !errors.Is(err, context.Canceled) {
				t.Fatalf("call queued on a cancelled create: %v, want context.Canceled", err)
			}
		}
		if err := p.Handle().Ready(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Ready of a cancelled create: %v", err)
		}
		p.Close(ctx)
		if got := holdingsOf(t, ctx, c); got != before {
			t.Fatalf("the manager holds %+v, want %+v", got, before)
		}
	})
}

// Across a broken connection: pipelined creates, calls and releases sent while the
// connection is down, or cut at random moments, each run exactly once after the resume,
// and leave nothing.
func TestPipelinedAcrossBreaks(t *testing.T) {
	ctx := testCtx(t)
	m := startChildManager(t)
	link := testnet.NewCutLink(t, m.Address().Network, m.Address().Addr)
	opts := m.Options()
	opts.Address = mgr.Address{Network: "tcp", Addr: link.Addr()}
	resumed := make(chan struct{}, 1)
	opts.OnState = func(s mgr.ConnState, _ error) {
		if s == mgr.StateResumed {
			select {
			case resumed <- struct{}{}:
			default:
			}
		}
	}
	c, err := mgr.Connect(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before := holdingsOf(t, ctx, c)

	t.Run("down", func(t *testing.T) {
		link.SetDown(true)
		link.Cut()
		p, err := createPiped(ctx, c, modeOK, "")
		if err != nil {
			t.Fatal(err)
		}
		res := make(chan error, 1)
		go func() {
			n, err := p.Add(ctx, 1)
			if err == nil && n != 1 {
				err = errors.New("the pipelined Add ran more than once")
			}
			res <- err
		}()
		// The call cannot have been answered: the link refuses every connection.
		select {
		case err := <-res:
			t.Fatalf("Add returned (%v) while the link was down", err)
		default:
		}
		link.SetDown(false)
		if err := <-res; err != nil {
			t.Fatalf("pipelined Add across the break: %v", err)
		}
		p.Close(ctx)
		if got := holdingsOf(t, ctx, c); got != before {
			t.Fatalf("the manager holds %+v, want %+v", got, before)
		}
		select {
		case <-resumed: // told from the client's goroutine, maybe after the call returned
		case <-ctx.Done():
			t.Fatal("the session was not resumed")
		}
	})

	t.Run("cuts", func(t *testing.T) {
		seed := rand.Uint64()
		t.Logf("seed %d", seed)
		stop := make(chan struct{})
		cutter := make(chan struct{})
		go func() {
			defer close(cutter)
			rng := rand.New(rand.NewPCG(seed, 0))
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Duration(1+rng.IntN(5)) * time.Millisecond): // pacing the cuts
					link.Cut()
				}
			}
		}()
		const goroutines, wantCuts, maxRounds = 4, 20, 20_000
		var rounds atomic.Int64
		start := link.Cuts()
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				for link.Cuts()-start < wantCuts && rounds.Load() < maxRounds {
					p, err := createPiped(ctx, c, modeOK, "")
					if err != nil {
						t.Errorf("CreatePipelined: %v", err)
						return
					}
					if n, err := p.Add(ctx, 1); err != nil || n != 1 {
						t.Errorf("Add = %d, %v; want 1 (run once, on a fresh object)", n, err)
						return
					}
					p.Close(ctx)
					rounds.Add(1)
				}
			})
		}
		wg.Wait()
		close(stop)
		<-cutter
		t.Logf("%d rounds through %d cuts", rounds.Load(), link.Cuts()-start)
		if got := holdingsOf(t, ctx, c); got != before {
			t.Fatalf("the manager holds %+v, want %+v", got, before)
		}
	})
}

// A pipelined call carries the metadata of the client's interceptors like any call
// (CallPipeMeta), and the manager's interceptors see it on the object the create made.
func TestPipelinedCallMetadata(t *testing.T) {
	ctx := testCtx(t)
	var cl, sl interceptLog
	m := startInProcess(t, mgr.Options{ServerInterceptors: []mgr.Interceptor{sl.interceptor(nil)}})
	c, err := mgr.Connect(ctx, mgr.Options{Address: m.Address(), AuthKey: m.AuthKey(),
		ClientInterceptors: []mgr.Interceptor{cl.interceptor([]byte("trace-7"))}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := createCounterPipelined(ctx, c, 5)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := p.Add(ctx, 1); err != nil || n != 6 {
		t.Fatalf("Add = %d, %v", n, err)
	}
	got, err := sl.last()
	if err != nil || got.Method != "Add" || got.Object != p.ObjectID() || string(got.Meta) != "trace-7" {
		t.Fatalf("the manager's interceptor saw %+v, %v; want Add on #%d with meta trace-7", got, err, p.ObjectID())
	}
	if got, _ := cl.last(); got.Method != "Add" || got.TypeID != counterTypeID {
		t.Fatalf("the client's interceptor saw %+v", got)
	}
}

// A pipelined proxy handed to a worker process before its create was answered: the
// token waits for the object's ID, and the worker's calls reach the object.
func TestPipelinedProxyToWorker(t *testing.T) {
	ctx := testCtx(t)
	m := startChildManager(t)
	p, err := createCounterPipelined(ctx, m.Client(), 10)
	if err != nil {
		t.Fatal(err)
	}
	w := spawn(t, m, "add", p, 3)
	if code, err := w.Wait(ctx); code != 0 || err != nil {
		t.Fatalf("worker: exit %d, %v", code, err)
	}
	if n, err := p.Add(ctx, 0); err != nil || n != 13 {
		t.Fatalf("counter = %d, %v; want 13", n, err)
	}
	p.Close(ctx)
	info, err := m.Client().Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range info.Objects {
		if o.TypeID == counterTypeID {
			t.Fatalf("counter #%d left after Close: %+v", o.ID, o)
		}
	}
}

// Epochs: a pipelined proxy of a manager that restarted since is stale like any other
// (ErrManagerRestarted), and pipelining goes on in the new session.
func TestPipelinedAcrossRestart(t *testing.T) {
	ctx := testCtx(t)
	c, _, restart := twoRuns(t, ctx)
	old, err := createCounterPipelined(ctx, c, 1)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := old.Add(ctx, 1); err != nil || n != 2 {
		t.Fatalf("Add = %d, %v", n, err)
	}
	q := restart(0)
	if _, err := old.Add(ctx, 1); !errors.Is(err, mgr.ErrManagerRestarted) {
		t.Fatalf("a pipelined proxy of the manager's earlier run: %v, want ErrManagerRestarted", err)
	}
	old.Close(ctx) // nothing to send: the reference went with the old run
	p, err := createCounterPipelined(ctx, c, 5)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := p.Add(ctx, 1); err != nil || n != 6 {
		t.Fatalf("Add after the restart = %d, %v; want 6", n, err)
	}
	p.Close(ctx)
	q.Close(ctx)
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Objects) != 0 {
		t.Fatalf("objects left: %+v", info.Objects)
	}
	for _, s := range info.Sessions {
		if s.ID == c.SessionID() && (s.Refs != 0 || s.Pipelined != 0) {
			t.Fatalf("the session holds %+v", s)
		}
	}
}

// The dynamic API pipelines too: Client.CreatePipelined, then a call by name
// (BeginMethod), sent before the create's reply.
func TestPipelinedDynamicCall(t *testing.T) {
	ctx := testCtx(t)
	m := startChildManager(t)
	c := m.Client()
	h, err := c.CreatePipelined(ctx, pipedTypeID, func(e *mgr.Encoder) {
		e.Int64(modeOK)
		e.String("")
	})
	if err != nil {
		t.Fatal(err)
	}
	p := mgr.MakeProxyBase(h)
	call, err := p.BeginMethod("Add")
	if err != nil {
		t.Fatal(err)
	}
	call.Args.Int64(7)
	res, err := call.Do(ctx)
	if err != nil {
		t.Fatalf("Add by name: %v", err)
	}
	if n := res.Int64(); n != 7 {
		t.Fatalf("Add by name = %d, want 7", n)
	}
	if err := call.End(); err != nil {
		t.Fatal(err)
	}
	p.Close(ctx)
	if got := holdingsOf(t, ctx, c); got.pipedObjects != 0 || got.pipelined != 0 || got.refs != 0 {
		t.Fatalf("the manager holds %+v after Close", got)
	}
}

// A pipelined proxy dropped without Close is released by its GC cleanup like any other:
// the object and the kept create go.
func TestPipelinedProxyCollected(t *testing.T) {
	ctx := testCtx(t)
	m := startChildManager(t)
	c := m.Client()
	before := holdingsOf(t, ctx, c)
	func() {
		p, err := createPiped(ctx, c, modeOK, "")
		if err != nil {
			t.Fatal(err)
		}
		if n, err := p.Add(ctx, 1); err != nil || n != 1 {
			t.Fatalf("Add = %d, %v", n, err)
		}
	}()
	// holdingsOf's call carries the releases the cleanups queued.
	waitUntil(t, "the collected proxy's release", 20*time.Second, func() bool {
		runtime.GC()
		return holdingsOf(t, ctx, c) == before
	})
}
