// ERROR: 34:16: parameter ch of S.Chan has type chan int: channels cannot cross a process
// ERROR: 35:18: result 0 of S.Func has type func(): funcs cannot cross a process boundary
// ERROR: 36:22: parameter h of S.Unexported has type hidden: unexported type hidden:
// ERROR: 37:17: parameter s of S.Iface has type fmt.Stringer: interface types other than
// ERROR: 38:26: S.CtxLate: context.Context must be the first parameter
// ERROR: 39:23: S.CtxResult: a context.Context cannot be returned
// ERROR: 40:18: parameter xs of S.Nested has type []*S: *S is an exposed type: it travels
// ERROR: 41:18: parameter p of S.Unsafe has type unsafe.Pointer: unsafe.Pointer cannot
// ERROR: 42:18: parameter v of S.Tagged has type struct{A int "json:\"a\""}: a struct type
// ERROR: 46:17: parameter b of S.Field has type Bad: field Ch: channels cannot cross a
// ERROR: 47:20: result 0 of S.Reader has type io.Reader: interface types other than error
// ERROR: 48:21: parameter x of S.Undefined has type invalid type: the type does not
package signatures

import (
	"context"
	"fmt"
	"io"
	"unsafe"
)

type hidden struct{}

// Bad has a field of a type that cannot travel.
type Bad struct {
	Ch chan int
}

// S has every kind of unsupported signature.
//
//mgr:expose serialized
type S struct{}

func (*S) Chan(ch chan int)                   {}
func (*S) Func() func()                       { return nil }
func (*S) Unexported(h hidden)                {}
func (*S) Iface(s fmt.Stringer)               {}
func (*S) CtxLate(n int, ctx context.Context) {}
func (*S) CtxResult() context.Context         { return nil }
func (*S) Nested(xs []*S)                     {}
func (*S) Unsafe(p unsafe.Pointer)            {}
func (*S) Tagged(v struct {
	A int `json:"a"`
}) {
}
func (*S) Field(b Bad)                             {}
func (*S) Reader() io.Reader                       { return nil }
func (*S) Undefined(x Nope)                        {}
func (*S) OK(ctx context.Context, xs ...int) error { return nil }
