package mgr

import (
	"context"
	"testing"
)

// BenchmarkDispatchInterceptors is the manager's dispatch of one method call
// (dispatchObject: the table's Method.Call behind the object's checks) with no
// interceptor and with one that does nothing, so the cost of the hook shows: none must
// stay at 0 allocs/op and within noise of BenchmarkDispatch plus the checks.
//
//	go test ./runtime/mgr -run '^$' -bench 'BenchmarkDispatch' -benchmem
func BenchmarkDispatchInterceptors(b *testing.B) {
	desc := &TypeDesc{TypeID: "mgr.benchAdder", Methods: []Method{{Name: "Add", Inline: true,
		Call: func(ctx context.Context, obj any, args *Decoder, res *Encoder) error {
			d := args.Int64()
			if err := args.Done(); err != nil {
				return err
			}
			n := obj.(*int64)
			*n += d
			res.Int64(*n)
			return nil
		}}}}
	noop := func(ctx context.Context, info *CallInfo, invoke func(context.Context) error) error {
		return invoke(ctx)
	}
	for _, bc := range []struct {
		name string
		ics  []Interceptor
	}{{"none", nil}, {"noop", []Interceptor{noop}}} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := NewServer(Options{AuthKey: []byte("k"), ServerInterceptors: bc.ics})
			if err != nil {
				b.Fatal(err)
			}
			s.mu.Lock()
			obj, err := s.addObjectLocked(desc, new(int64), nil)
			s.mu.Unlock()
			if err != nil {
				b.Fatal(err)
			}
			e := NewEncoder(nil)
			e.Int64(1)
			frame := e.Bytes()
			res := NewEncoder(make([]byte, 0, 64))
			buf := res.Bytes()
			ctx := s.internal.ctx
			args := new(Decoder)
			b.ReportAllocs()
			for b.Loop() {
				*args = Decoder{buf: frame}
				*res = *NewEncoder(buf[:0])
				if err := s.dispatchObject(ctx, obj, obj.id, 0, args, res, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
