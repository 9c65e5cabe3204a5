package wire

// Message kinds: the first byte of every frame after the handshake.
//
//	Call     kind reqID objectID method timeoutNanos args...   client → manager
//	CallMeta kind reqID objectID method timeoutNanos meta args...  client → manager
//	Reply    kind reqID nrefs refID... result...               manager → client
//	Error    kind reqID message sentinel stack                 manager → client
//	Cancel   kind reqID                                        client → manager
//	Ping     kind                                              client → manager
//	Pong     kind                                              manager → client
//	Goodbye  kind message                                      manager → client, then close
//	Abort    kind message                                      either way, then close
//	Reserved kind reqID nrefs refID... result...               manager → client
//	ReservedError kind reqID message sentinel stack            manager → client
//	CancelAck kind reqID                                       manager → client
//	Accept   kind reqID                                        client → manager
//	Reject   kind reqID                                        client → manager
//	Ack      kind count                                        client → manager
//	Bye      kind                                              client → manager, then close
//	Resume   kind sessionID token epoch received n reqID...    client → manager, first on a new connection
//	Resumed  kind status epoch message n reqID... m reqID...   manager → client, answer to Resume
//	CallPipe kind reqID createReqID method timeoutNanos args...  client → manager
//
// Integers are uvarints, strings a uvarint length and bytes. timeoutNanos is the time the
// call has left (0: no deadline); a relative figure keeps clock skew between machines out.
// A reply lists the objects whose references it counted for the session (the proxies in
// its result), so a client that gave up on the call can release them (protocol 2).
//
// Cancellation loses no outcome (protocol 3). The manager answers a Cancel that names a
// call it is still running with CancelAck; a Cancel for a call it has already answered
// gets nothing, since the reply is ahead of it on the connection. The final reply of a
// call that was acknowledged as cancelled, if it succeeded with something to undo (an
// item taken, a lock granted, references counted), comes as Reserved (ReservedError for
// an error that still carries an outcome, such as an abandoned lock): the manager keeps
// the outcome until the client says Accept (the caller took it) or Reject (the caller had
// given up: the manager undoes it). A client therefore never gives up on a cancelled call
// before it has seen its CancelAck, and nothing is lost to a cancellation however slow the
// manager or the network.
//
// Calls are pipelined (protocol 4). A client that creates an object with CtlCreatePipe
// need not wait for its reply to call it: CallPipe names the object as "the result of
// request createReqID of this session" instead of by its ID. The manager keeps the outcome
// of every CtlCreatePipe (the object's ID, or the constructor's error) from the moment
// it reads the create until the client releases it by request ID (CtlReleaseN's second
// list), and runs a CallPipe once that create has finished — at once if it has, in a
// goroutine of its own that waits for it otherwise — or fails it with the create's error.
// Create and call thus go out in one write and cost one round trip.
const (
	KindCall    byte = 1
	KindReply   byte = 2
	KindError   byte = 3
	KindCancel  byte = 4
	KindPing    byte = 5
	KindPong    byte = 6
	KindGoodbye byte = 7
	KindAbort   byte = 8

	KindReserved  byte = 9
	KindCancelAck byte = 10
	KindAccept    byte = 11
	KindReject    byte = 12

	KindReservedError byte = 13

	KindAck     byte = 14 // count: the peer has received that many frames (client → manager)
	KindBye     byte = 15 // (): the client closes the session on purpose (client → manager)
	KindResume  byte = 16 // first frame on a new connection: go on with a session
	KindResumed byte = 17 // the manager's answer to Resume

	// KindCallMeta is a Call whose arguments follow opaque metadata (protocol 4):
	//	CallMeta kind reqID objectID method timeoutNanos meta args...   client → manager
	// meta is a byte string (uvarint length+1, then the bytes), set by the client's
	// interceptors (trace context) and handed to the manager's. A call without metadata is
	// a plain Call, so a client that sets none sends what it did under protocol 3.
	KindCallMeta byte = 18

	// KindCallPipe is a Call on the result of a pipelined create (protocol 5): objectID
	// is the create's request ID; KindCallPipeMeta is the same with metadata, as
	// CallMeta.
	KindCallPipe     byte = 19
	KindCallPipeMeta byte = 20
)

// Resume statuses (the first field of a Resumed frame).
const (
	ResumeOK        = 0 // the session goes on; replayed frames follow
	ResumeRefused   = 1 // no such session: it ended, or the window passed, or the token is wrong
	ResumeRestarted = 2 // the manager is another run (epoch) than the one the session was with
	ResumeShutdown  = 3 // the manager is shutting down
	// ResumeAdopted: the manager is another run than the session's, but shares its objects'
	// store (a Backend) and started a new session on this connection in its place, taking
	// over what the old one held in the store; the client says Hello on it next, as after a
	// restart.
	ResumeAdopted = 4
)

// A call names its method by its index in the manager's dispatch table. A client learns
// the table of each type once per session (CtlMethods) and maps its own methods to it by
// name and signature, so two programs built from different versions of a type never
// call the wrong method (a missing one or a changed signature is an error instead).
//
// Sessions survive broken connections (protocol 3). Hello's reply carries the session's
// resume token and the manager's epoch (random per run). The manager numbers every frame
// it sends a session and keeps those the client has not acknowledged (Ack, sent every few
// dozen frames and when idle). A client whose connection breaks redials and sends Resume
// — its session, token, the epoch it knew, how many frames it received, and the IDs of
// its calls whose replies it has not taken (still waiting, or given up on, or refused
// with Reject) — before anything else. The manager answers Resumed: the
// pending IDs it never read (the client sends those calls again; the manager drops a
// call whose ID it has seen), and the IDs of reserved outcomes the client has received
// but not answered; then it sends again every frame the client did not receive. A clean
// close says Bye first; a connection that ends without it is a break, unless the manager
// can see the client's process has died (a Unix socket's peer credentials).
//
// ControlObject is the object ID of the manager itself: its methods create, attach and
// release objects, hand out tokens, look up named objects and report introspection.
const ControlObject = 0

// Methods of the control object.
const (
	CtlCreate   = 0  // typeID args → objectID
	CtlRelease  = 1  // objectID → ()
	CtlToken    = 2  // objectID → token bytes
	CtlAttach   = 3  // token bytes → objectID typeID
	CtlLookup   = 4  // name → objectID typeID
	CtlInfo     = 5  // sessionsAfter objectsAfter → a page of info (see Client.Info)
	CtlShutdown = 6  // () → ()
	CtlHello    = 7  // pid program maxFrame → sessionID
	CtlRevoke   = 8  // objectID token bytes → () (a token made but never handed over)
	CtlReleaseN = 9  // count objectID... [count createReqID...] → failures (batched releases)
	CtlMethods  = 10 // typeID → count (name sig)...: the type's dispatch table, in order
	// CtlCreatePipe is CtlCreate whose outcome the manager keeps for CallPipe frames
	// until the client releases it: the second list of CtlReleaseN names the creates'
	// request IDs, each releasing the reference the create made (if it made one) and
	// the kept outcome.
	CtlCreatePipe = 11 // typeID args → objectID
)
