// ERROR: 16:21: pyname= needs python=TYPEID
// ERROR: 23:21: python=Box: Box is generic
// ERROR: 30:21: python=C: constructor NewC takes parameters
// ERROR: 42:11: python=D: method Bad: map[string]int has no Python form
// ERROR: 44:11: python=D: method Many is variadic
// ERROR: 46:11: python=D: method Named: python.Celsius has no Python form
// ERROR: 55:30: pyname=Missing:m: Missing is not an exposed method of E
// ERROR: 55:40: pyname=bad: want Method:python_name
// ERROR: 62:21: python=not-an-id: a Python typeid must be an identifier
// ERROR: 72:11: python=G: method Import: its Python name import is a Python keyword
// ERROR: 74:11: python=G: methods Size and TheSize have the same Python name size
package python

// A names Python methods but is not served to Python.
//
//mgr:expose pyname=M:m
type A struct{}

func (*A) M() {}

// Box is generic.
//
//mgr:expose python=Box
type Box[T any] struct{ v T }

func (b *Box[T]) Get() T { return b.v }

// C has a constructor with parameters.
//
//mgr:expose python=C constructor=NewC
type C struct{ n int }

func NewC(n int) *C { return &C{n} }

func (c *C) N() int { return c.n }

// D has methods Python cannot call.
//
//mgr:expose python=D
type D struct{}

func (*D) Bad(m map[string]int) {}

func (*D) Many(xs ...int) {}

func (*D) Named() Celsius { return 0 }

func (*D) Good(x int) int { return x }

// Celsius is a named type: its Sig spells its name.
type Celsius float64

// E renames a method it does not have.
//
//mgr:expose python=E pyname=Missing:m,bad
type E struct{}

func (*E) M() {}

// F has a bad typeid.
//
//mgr:expose python=not-an-id
type F struct{}

func (*F) M() {}

// G has methods whose Python names do not work.
//
//mgr:expose python=G pyname=TheSize:size
type G struct{}

func (*G) Import() {}

func (*G) TheSize() int { return 0 }

func (*G) Size() int { return 0 }
