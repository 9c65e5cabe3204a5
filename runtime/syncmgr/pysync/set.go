package pysync

import (
	"context"
	"errors"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// set: Python 3.14's SyncManager typeid 'set' (SetProxy), served by syncmgr.Set[any].
// Elements compare as Go values, as the dict's keys do (1 and 1.0 are two elements).
// The other operand of an operator is a set or frozenset value, of a method any
// iterable value (items, args.go); another SetProxy as an operand is not resolved here (CPython's own manager
// unpickles it into its referent) and is a TypeError.

type pySet = syncmgr.Set[any]

// setElems returns the elements of an operand: any of the iterables above. ops says
// whether it is an operator's operand, which Python takes only as a set or frozenset.
func setElems(method string, v any, ops bool) ([]any, error) {
	switch v.(type) {
	case pickle.Set, pickle.FrozenSet:
	default:
		if ops {
			return nil, mgr.PyTypeError("unsupported operand type(s) for %s: 'set' and '%s'", method, pyTypeName(v))
		}
		if _, isProxy := v.(*pickle.Proxy); isProxy {
			return nil, mgr.PyTypeError("%s(): a proxy as the operand is not supported by this manager; pass its copy()", method)
		}
	}
	out, err := items(v, method)
	if err != nil {
		return nil, err
	}
	for _, e := range out {
		if err := key(e); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// setOf makes a Python set value of elems.
func setOf(elems []any) pickle.Set {
	s := make(pickle.Set, len(elems))
	for _, e := range elems {
		s[e] = struct{}{}
	}
	return s
}

// setOp adapts a method of one operand that returns a new set or a bool.
func setOp(name string, ops bool, fn func(s *pySet, other []any) any) mgr.PyMethod {
	return m1(name, func(o, x any) (any, error) {
		other, err := setElems(name, x, ops)
		if err != nil {
			return nil, err
		}
		return fn(o.(*pySet), other), nil
	})
}

// setMany adapts a method of any number of operands (union(*others), update(*others)),
// folding them left to right.
func setMany(name string, fn func(s *pySet, acc []any, other []any) []any, start func(s *pySet) []any, result bool) mgr.PyMethod {
	return func(_ context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
		if kwds != nil {
			return nil, mgr.PyTypeError("%s() takes no keyword arguments", name)
		}
		s := o.(*pySet)
		var acc []any
		if start != nil {
			acc = start(s)
		}
		for _, a := range args {
			other, err := setElems(name, a, false)
			if err != nil {
				return nil, err
			}
			acc = fn(s, acc, other)
		}
		if !result {
			return nil, nil
		}
		if acc == nil && start == nil {
			acc = s.Items()
		}
		return setOf(acc), nil
	}
}

// minus is a − b as slices.
func minus(a, b []any) []any {
	drop := setOf(b)
	var out []any
	for _, e := range a {
		if _, ok := drop[e]; !ok {
			out = append(out, e)
		}
	}
	return out
}

var setType = &mgr.PyType{
	TypeID:   "set",
	GoTypeID: syncmgr.SetTypeID[any](),
	Exposed: []string{"__and__", "__contains__", "__iand__", "__ior__", "__isub__", "__iter__", "__ixor__",
		"__len__", "__or__", "__rand__", "__ror__", "__rsub__", "__rxor__", "__sub__", "__xor__",
		"__ge__", "__gt__", "__le__", "__lt__",
		"add", "clear", "copy", "difference", "difference_update", "discard", "intersection",
		"intersection_update", "isdisjoint", "issubset", "issuperset", "pop", "remove",
		"symmetric_difference", "symmetric_difference_update", "union", "update"},
	MethodToTypeID: map[string]string{"__iter__": "Iterator"},
	New: func(_ context.Context, args []any, kwds *pickle.Dict) (any, error) {
		v, set, err := params("set", args, kwds, "iterable")
		if err != nil {
			return nil, err
		}
		if !set[0] {
			return syncmgr.NewSet[any](nil), nil
		}
		elems, err := setElems("set", v[0], false)
		if err != nil {
			return nil, err
		}
		return syncmgr.NewSet(elems), nil
	},
	Methods: map[string]mgr.PyMethod{
		"__contains__": m1("__contains__", func(o, x any) (any, error) {
			if err := key(x); err != nil {
				return nil, err
			}
			return o.(*pySet).Contains(x), nil
		}),
		"__len__": m0("__len__", func(o any) (any, error) { return int64(o.(*pySet).Len()), nil }),
		"__iter__": m0("__iter__", func(o any) (any, error) {
			return &Iterator{items: o.(*pySet).Items()}, nil
		}),
		"add": m1("add", func(o, x any) (any, error) {
			if err := key(x); err != nil {
				return nil, err
			}
			o.(*pySet).Add(x)
			return nil, nil
		}),
		"discard": m1("discard", func(o, x any) (any, error) {
			if err := key(x); err != nil {
				return nil, err
			}
			o.(*pySet).Discard(x)
			return nil, nil
		}),
		"remove": m1("remove", func(o, x any) (any, error) {
			if err := key(x); err != nil {
				return nil, err
			}
			if !o.(*pySet).Discard(x) {
				return nil, keyError(x)
			}
			return nil, nil
		}),
		"pop": func(ctx context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
			if err := noArgs("pop", args, kwds); err != nil {
				return nil, err
			}
			v, err := o.(*pySet).Pop(ctx)
			if errors.Is(err, syncmgr.ErrNoKey) {
				return nil, mgr.PyException("KeyError", "pop from an empty set")
			}
			return v, err
		},
		"clear": m0("clear", func(o any) (any, error) { o.(*pySet).Clear(); return nil, nil }),
		"copy":  m0("copy", func(o any) (any, error) { return setOf(o.(*pySet).Items()), nil }),

		// New sets.
		"union": setMany("union", func(_ *pySet, acc, other []any) []any { return append(acc, other...) },
			func(s *pySet) []any { return s.Items() }, true),
		"intersection": setMany("intersection", func(_ *pySet, acc, other []any) []any { return minus(acc, minus(acc, other)) },
			func(s *pySet) []any { return s.Items() }, true),
		"difference": setMany("difference", func(_ *pySet, acc, other []any) []any { return minus(acc, other) },
			func(s *pySet) []any { return s.Items() }, true),
		"symmetric_difference": setOp("symmetric_difference", false, func(s *pySet, other []any) any { return setOf(s.SymmetricDifference(other)) }),
		"__or__":               setOp("|", true, func(s *pySet, other []any) any { return setOf(s.Union(other)) }),
		"__ror__":              setOp("|", true, func(s *pySet, other []any) any { return setOf(s.Union(other)) }),
		"__and__":              setOp("&", true, func(s *pySet, other []any) any { return setOf(s.Intersection(other)) }),
		"__rand__":             setOp("&", true, func(s *pySet, other []any) any { return setOf(s.Intersection(other)) }),
		"__xor__":              setOp("^", true, func(s *pySet, other []any) any { return setOf(s.SymmetricDifference(other)) }),
		"__rxor__":             setOp("^", true, func(s *pySet, other []any) any { return setOf(s.SymmetricDifference(other)) }),
		"__sub__":              setOp("-", true, func(s *pySet, other []any) any { return setOf(s.Difference(other)) }),
		"__rsub__":             setOp("-", true, func(s *pySet, other []any) any { return setOf(minus(other, s.Items())) }),

		// In place: SetProxy's __ior__ & co. return the proxy itself, client-side.
		"update":              setMany("update", func(s *pySet, _, other []any) []any { s.Update(other); return nil }, nil, false),
		"intersection_update": setMany("intersection_update", func(s *pySet, _, other []any) []any { s.IntersectionUpdate(other); return nil }, nil, false),
		"difference_update":   setMany("difference_update", func(s *pySet, _, other []any) []any { s.DifferenceUpdate(other); return nil }, nil, false),
		"symmetric_difference_update": setOp("symmetric_difference_update", false, func(s *pySet, other []any) any {
			s.SymmetricDifferenceUpdate(other)
			return nil
		}),
		"__ior__":  setOp("|=", true, func(s *pySet, other []any) any { s.Update(other); return nil }),
		"__iand__": setOp("&=", true, func(s *pySet, other []any) any { s.IntersectionUpdate(other); return nil }),
		"__ixor__": setOp("^=", true, func(s *pySet, other []any) any { s.SymmetricDifferenceUpdate(other); return nil }),
		"__isub__": setOp("-=", true, func(s *pySet, other []any) any { s.DifferenceUpdate(other); return nil }),

		// Comparisons and tests.
		"isdisjoint": setOp("isdisjoint", false, func(s *pySet, other []any) any { return s.IsDisjoint(other) }),
		"issubset":   setOp("issubset", false, func(s *pySet, other []any) any { return s.IsSubset(other) }),
		"issuperset": setOp("issuperset", false, func(s *pySet, other []any) any { return s.IsSuperset(other) }),
		"__le__":     setOp("<=", true, func(s *pySet, other []any) any { return s.IsSubset(other) }),
		"__ge__":     setOp(">=", true, func(s *pySet, other []any) any { return s.IsSuperset(other) }),
		"__lt__": setOp("<", true, func(s *pySet, other []any) any {
			return s.IsSubset(other) && s.Len() < len(setOf(other))
		}),
		"__gt__": setOp(">", true, func(s *pySet, other []any) any {
			return s.IsSuperset(other) && s.Len() > len(setOf(other))
		}),
	},
	Repr: func(o any) string {
		items := o.(*pySet).Items()
		if len(items) == 0 {
			return "set()"
		}
		return repr(setOf(items))
	},
	Value: func(o any) (any, error) { return setOf(o.(*pySet).Items()), nil },
}
