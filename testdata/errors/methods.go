// ERROR: 18:26: methods=Missing: A has no method Missing
// ERROR: 18:34: methods=get: method get is not exported
// ERROR: 18:38: methods=: Get listed twice
// ERROR: 26:19: hide=Nope: B has no method Nope
// ERROR: 36:11: method C.String collides with mgr.ProxyBase.String on the proxy
// ERROR: 37:11: method C.Close collides with mgr.ProxyBase.Close on the proxy
// ERROR: 38:11: method C.Token collides with mgr.ProxyBase.Token on the proxy
// ERROR: 43:21: rename=Nope:X: Nope is not an exposed method of D
// ERROR: 43:30: rename=M:lower: the proxy method must be exported
// ERROR: 43:36: rename=: M renamed twice
// ERROR: 43:44: rename=Get:Close: Close collides with mgr.ProxyBase.Close on the
// ERROR: 43:58: rename=bad: want Method:ProxyMethod
// ERROR: 52:25: proxy method Get of E would stand for both Get and Put
package methods

// A names methods that do not exist or are not exported.
//
//mgr:expose methods=Get,Missing,get,Get
type A struct{}

func (*A) Get() int { return 0 }
func (*A) get() int { return 0 }

// B hides a missing method.
//
//mgr:expose hide=Nope
type B struct{}

func (*B) M() {}

// C has methods that collide with the proxy's own.
//
//mgr:expose
type C struct{}

func (*C) String() string { return "" }
func (*C) Close(n int)    {}
func (*C) Token() string  { return "" }
func (*C) M()             {}

// D renames badly.
//
//mgr:expose rename=Nope:X,M:lower,M:N,Get:Close,Put:Get,bad
type D struct{}

func (*D) Get() int { return 0 }
func (*D) Put()     {}
func (*D) M()       {}

// E gives two methods one proxy name.
//
//mgr:expose rename=Put:Get
type E struct{}

func (*E) Get() int { return 0 }
func (*E) Put()     {}
