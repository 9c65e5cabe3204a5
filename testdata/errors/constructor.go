// ERROR: 10:26: constructor=Missing: no function Missing in package constructor
// ERROR: 17:26: constructor=notFunc: notFunc is not a function
// ERROR: 29:6: constructor NewC must return *C or (*C, error)
// ERROR: 38:6: constructor NewD must return *D[T] or (*D[T], error)
// ERROR: 47:12: parameter ch of constructor MakeE has type chan int: channels cannot cross
package constructor

// A names a constructor that does not exist.
//
//mgr:expose constructor=Missing
type A struct{}

func (*A) M() {}

// B names a variable.
//
//mgr:expose constructor=notFunc
type B struct{}

var notFunc = 1

func (*B) M() {}

// C's conventional constructor returns the wrong type.
//
//mgr:expose
type C struct{}

func NewC() C { return C{} }

func (*C) M() {}

// D is generic; its constructor is not.
//
//mgr:expose
type D[T any] struct{}

func NewD() *D[int] { return nil }

func (*D[T]) M() {}

// E's constructor takes a channel.
//
//mgr:expose constructor=MakeE
type E struct{}

func MakeE(ch chan int) (*E, error) { return nil, nil }

func (*E) M() {}
