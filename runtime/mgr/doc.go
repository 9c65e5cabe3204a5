// Package mgr is the runtime that mgr's generated proxies link against: Python's
// multiprocessing.managers for Go.
//
// A manager process owns ordinary Go objects. Other processes reach them through typed
// proxies that mgrgen generates from structs marked //mgr:expose. This package carries the
// calls: transport (Unix sockets and TCP, optionally TLS), a mutual HMAC handshake over
// an authkey, one multiplexed connection per client process, the manager's object table
// with references owned by client sessions (so a crashed client leaks nothing), and the
// manager's lifecycle: as a child process of the current binary, in this process, or as a
// standalone server.
//
// A program that starts a child-process manager or worker processes must call RunChild
// first thing in main:
//
//	func main() {
//		mgr.RunChild() // in a child started by mgr, runs its role and exits
//		m, err := mgr.Start(ctx, mgr.Options{})
//		...
//	}
//
// # Worker processes
//
// Python's Process(target=f, args=(proxy, ...)) is RegisterWorker plus Spawn. A worker
// is this binary started again; it finds its entry function by name, connects to the
// manager with the address and authkey of the Client that spawned it (they travel in a
// pipe, never on the command line), and reads its arguments by position:
//
//	func init() { mgr.RegisterWorker("add", add) }
//
//	func add(ctx context.Context, w *mgr.WorkerEnv) error {
//		counter, err := mgr.AttachArg(ctx, w, 0, AttachCounter) // a proxy argument
//		if err != nil {
//			return err
//		}
//		n, err := mgr.WorkerArg[int](w, 1) // a plain argument, as the type it was sent as
//		if err != nil {
//			return err
//		}
//		_, err = counter.Add(ctx, n)
//		return err
//	}
//
//	// in main, after RunChild and Start:
//	p, err := m.Spawn(ctx, "add", counter, 5)
//	code, err := p.Wait(ctx) // err carries add's error message
//
// What runs where: package-level variables and init functions run in every process —
// the parent, the manager child and each worker — because each is the same program
// started afresh. Everything in main after RunChild runs only in the parent, since
// RunChild never returns in a child. So register types, initializers and workers from
// init (or before RunChild), and keep work that must happen once (opening files,
// parsing flags, printing a banner) in main after RunChild. An init that must not run
// in children (rare) can test os.Getenv("MGR_ROLE") != "".
//
// A worker's ctx is cancelled when its parent dies, however it dies (the parent's end of
// a pipe closes), or when the parent calls Process.Cancel; the entry function then has a
// few seconds to return before the worker exits anyway. Its session with the manager
// ends with it, which drops the references it held.
//
// # Separate programs
//
// Any program can use a running manager given its address and authkey: Connect with
// them in Options, or ConnectFromEnv with MGR_ADDRESS and MGR_AUTHKEY (hex) in the
// environment (Manager.Env returns those entries for exec.Cmd.Env). For flags,
// *Address is a flag.Value and HexKey makes one for an authkey. Named objects a
// manager's initializer registered with Server.AddNamed are reached with the generated
// LookupX functions.
//
// # CPython clients
//
// A manager also speaks CPython's own manager protocol, on listeners of its own
// (Server.ServePython, Manager.ListenPython, Options.Python): unmodified
// multiprocessing clients (BaseManager(address, authkey).connect()) use the same object
// table as Go clients. It is a second front-end on one core: python_listen.go and
// python_conn.go take connections, python_dispatch.go turns CPython's requests into calls
// on the table, python_refs.go holds CPython's references (by client process on a Unix
// socket, so a killed client's objects go), and python_types.go and python_bridge.go give
// Go types their Python faces (RegisterPython, NewPyType, mgrgen's python= option). The
// SyncManager typeids are in runtime/syncmgr/pysync.
package mgr
