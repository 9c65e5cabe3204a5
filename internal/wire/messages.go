package wire

// Message kinds: the first byte of every frame after the handshake.
//
//	Call     kind reqID objectID method timeoutNanos args...   client → manager
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
)

// A call names its method by its index in the manager's dispatch table. A client learns
// the table of each type once per session (CtlMethods) and maps its own methods to it by
// name and signature, so two programs built from different versions of a type never
// call the wrong method (a missing one or a changed signature is an error instead).
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
	CtlReleaseN = 9  // count objectID... → failures (batched releases)
	CtlMethods  = 10 // typeID → count (name sig)...: the type's dispatch table, in order
)
