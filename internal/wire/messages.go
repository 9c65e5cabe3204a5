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
//
// Integers are uvarints, strings a uvarint length and bytes. timeoutNanos is the time the
// call has left (0: no deadline); a relative figure keeps clock skew between machines out.
// A reply lists the objects whose references it counted for the session (the proxies in
// its result), so a client that gave up on the call can release them (protocol 2).
const (
	KindCall    byte = 1
	KindReply   byte = 2
	KindError   byte = 3
	KindCancel  byte = 4
	KindPing    byte = 5
	KindPong    byte = 6
	KindGoodbye byte = 7
	KindAbort   byte = 8
)

// ControlObject is the object ID of the manager itself: its methods create, attach and
// release objects, hand out tokens, look up named objects and report introspection.
const ControlObject = 0

// Methods of the control object.
const (
	CtlCreate   = 0 // typeID args → objectID
	CtlRelease  = 1 // objectID → ()
	CtlToken    = 2 // objectID → token bytes
	CtlAttach   = 3 // token bytes → objectID typeID
	CtlLookup   = 4 // name → objectID typeID
	CtlInfo     = 5 // () → info
	CtlShutdown = 6 // () → ()
	CtlHello    = 7 // pid program → sessionID
)
