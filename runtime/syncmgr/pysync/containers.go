package pysync

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// dict and list: DictProxy and ListProxy.

type (
	pyDict = syncmgr.Dict[any, any]
	pyList = syncmgr.List[any]
)

// key checks that v can be a dict key: Python's unhashable values (list, dict, set)
// would make a Go map panic.
func key(v any) error {
	if err := pickle.Hashable(v); err != nil {
		return mgr.PyTypeError("unhashable type: '%s'", pyTypeName(v))
	}
	return nil
}

func keyError(k any) error { return mgr.PyException("KeyError", k) }

// keyArgs reads the (key, default=None) arguments of dict.get, pop and setdefault: the
// key is required and must be hashable; set[1] says whether a default was given.
func keyArgs(method string, args []any, kwds *pickle.Dict) ([]any, []bool, error) {
	v, set, err := params(method, args, kwds, "key", "default")
	if err != nil {
		return nil, nil, err
	}
	if err := need(method, set, 1, "key"); err != nil {
		return nil, nil, err
	}
	if err := key(v[0]); err != nil {
		return nil, nil, err
	}
	return v, set, nil
}

// m1 adapts a method of one argument.
func m1(name string, fn func(obj any, a any) (any, error)) mgr.PyMethod {
	return func(_ context.Context, obj any, args []any, kwds *pickle.Dict) (any, error) {
		v, set, err := params(name, args, kwds, "x")
		if err != nil {
			return nil, err
		}
		if err := need(name, set, 1, "x"); err != nil {
			return nil, err
		}
		return fn(obj, v[0])
	}
}

// m0 adapts a method of no argument.
func m0(name string, fn func(obj any) (any, error)) mgr.PyMethod {
	return func(_ context.Context, obj any, args []any, kwds *pickle.Dict) (any, error) {
		if err := noArgs(name, args, kwds); err != nil {
			return nil, err
		}
		return fn(obj)
	}
}

func dictOf(d *pyDict) *pickle.Dict {
	out := pickle.NewDict()
	for _, it := range d.Items() {
		out.Set(it.Key, it.Value)
	}
	return out
}

var dictType = &mgr.PyType{
	TypeID:   "dict",
	GoTypeID: syncmgr.DictTypeID[any, any](),
	Exposed: []string{"__contains__", "__delitem__", "__getitem__", "__iter__", "__len__", "__setitem__",
		"clear", "copy", "get", "items", "keys", "pop", "popitem", "setdefault", "update", "values",
		// Python 3.14's DictProxy adds these (its __ior__ returns the proxy, client-side).
		"__ior__", "__or__", "__reversed__", "__ror__", "fromkeys"},
	MethodToTypeID: map[string]string{"__iter__": "Iterator", "__reversed__": "Iterator"},
	New: func(ctx context.Context, args []any, kwds *pickle.Dict) (any, error) {
		d := syncmgr.NewDict[any, any]()
		if _, err := dictUpdate(d, args, kwds); err != nil {
			return nil, err
		}
		return d, nil
	},
	Methods: map[string]mgr.PyMethod{
		"__contains__": m1("__contains__", func(o, k any) (any, error) {
			if err := key(k); err != nil {
				return nil, err
			}
			return o.(*pyDict).Contains(k), nil
		}),
		"__delitem__": m1("__delitem__", func(o, k any) (any, error) {
			if err := key(k); err != nil {
				return nil, err
			}
			if !o.(*pyDict).Delete(k) {
				return nil, keyError(k)
			}
			return nil, nil
		}),
		"__getitem__": m1("__getitem__", func(o, k any) (any, error) {
			if err := key(k); err != nil {
				return nil, err
			}
			v, ok := o.(*pyDict).Get(k)
			if !ok {
				return nil, keyError(k)
			}
			return v, nil
		}),
		"__iter__": m0("__iter__", func(o any) (any, error) {
			return &Iterator{items: o.(*pyDict).Keys()}, nil
		}),
		"__len__": m0("__len__", func(o any) (any, error) { return int64(o.(*pyDict).Len()), nil }),
		"__setitem__": func(_ context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
			v, set, err := params("__setitem__", args, kwds, "key", "value")
			if err != nil {
				return nil, err
			}
			if err := need("__setitem__", set, 2, "key", "value"); err != nil {
				return nil, err
			}
			if err := key(v[0]); err != nil {
				return nil, err
			}
			o.(*pyDict).Set(v[0], v[1])
			return nil, nil
		},
		"clear": m0("clear", func(o any) (any, error) { o.(*pyDict).Clear(); return nil, nil }),
		"__ior__": m1("__ior__", func(o, x any) (any, error) {
			if _, ok := x.(*pickle.Dict); !ok {
				return nil, mgr.PyTypeError("unsupported operand type(s) for |=: 'dict' and '%s'", pyTypeName(x))
			}
			return dictUpdate(o.(*pyDict), []any{x}, nil)
		}),
		"__or__": m1("__or__", func(o, x any) (any, error) {
			other, ok := x.(*pickle.Dict)
			if !ok {
				return nil, mgr.PyTypeError("unsupported operand type(s) for |: 'dict' and '%s'", pyTypeName(x))
			}
			out := dictOf(o.(*pyDict))
			for k, v := range other.All() {
				out.Set(k, v)
			}
			return out, nil
		}),
		"__ror__": m1("__ror__", func(o, x any) (any, error) {
			other, ok := x.(*pickle.Dict)
			if !ok {
				return nil, mgr.PyTypeError("unsupported operand type(s) for |: '%s' and 'dict'", pyTypeName(x))
			}
			out := pickle.NewDict()
			for k, v := range other.All() {
				out.Set(k, v)
			}
			for _, it := range o.(*pyDict).Items() {
				out.Set(it.Key, it.Value)
			}
			return out, nil
		}),
		"__reversed__": m0("__reversed__", func(o any) (any, error) {
			keys := o.(*pyDict).Keys()
			slices.Reverse(keys)
			return &Iterator{items: keys}, nil
		}),
		// d.fromkeys(keys, value) is dict.fromkeys: a new plain dict, d unchanged.
		"fromkeys": func(_ context.Context, _ any, args []any, kwds *pickle.Dict) (any, error) {
			v, set, err := params("fromkeys", args, kwds, "iterable", "value")
			if err != nil {
				return nil, err
			}
			if err := need("fromkeys", set, 1, "iterable"); err != nil {
				return nil, err
			}
			keys, err := items(v[0], "fromkeys")
			if err != nil {
				return nil, err
			}
			out := pickle.NewDict()
			for _, k := range keys {
				if err := key(k); err != nil {
					return nil, err
				}
				out.Set(k, v[1])
			}
			return out, nil
		},
		"copy": m0("copy", func(o any) (any, error) { return dictOf(o.(*pyDict)), nil }),
		"get": func(_ context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
			v, _, err := keyArgs("get", args, kwds)
			if err != nil {
				return nil, err
			}
			if x, ok := o.(*pyDict).Get(v[0]); ok {
				return x, nil
			}
			return v[1], nil
		},
		"items": m0("items", func(o any) (any, error) {
			its := o.(*pyDict).Items()
			out := make([]any, len(its))
			for i, it := range its {
				t, err := pickle.MakeTuple(it.Key, it.Value)
				if err != nil {
					return nil, err
				}
				out[i] = t
			}
			return out, nil
		}),
		"keys":   m0("keys", func(o any) (any, error) { return o.(*pyDict).Keys(), nil }),
		"values": m0("values", func(o any) (any, error) { return o.(*pyDict).Values(), nil }),
		"pop": func(ctx context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
			v, set, err := keyArgs("pop", args, kwds)
			if err != nil {
				return nil, err
			}
			x, err := o.(*pyDict).Pop(ctx, v[0])
			if err != nil {
				if set[1] {
					return v[1], nil
				}
				return nil, keyError(v[0])
			}
			return x, nil
		},
		"popitem": func(ctx context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
			if err := noArgs("popitem", args, kwds); err != nil {
				return nil, err
			}
			d := o.(*pyDict)
			k, v, err := d.PopItem(ctx)
			if err != nil {
				return nil, mgr.PyException("KeyError", "popitem(): dictionary is empty")
			}
			t, err := pickle.MakeTuple(k, v)
			if err != nil {
				// The caller gets an error, not the entry: it goes back where it was (it
				// was the newest), unless the key was set again meanwhile.
				d.GetOrSet(k, v)
				return nil, err
			}
			return t, nil
		},
		"setdefault": func(_ context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
			v, _, err := keyArgs("setdefault", args, kwds)
			if err != nil {
				return nil, err
			}
			return o.(*pyDict).SetDefault(v[0], v[1]), nil
		},
		"update": func(_ context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
			return dictUpdate(o.(*pyDict), args, kwds)
		},
	},
	Repr:  func(o any) string { return repr(dictOf(o.(*pyDict))) },
	Value: func(o any) (any, error) { return dictOf(o.(*pyDict)), nil },
}

// dictUpdate is dict.update(other, **kwds) and dict(other, **kwds).
func dictUpdate(d *pyDict, args []any, kwds *pickle.Dict) (any, error) {
	if len(args) > 1 {
		return nil, mgr.PyTypeError("update expected at most 1 argument, got %d", len(args))
	}
	var its []syncmgr.Item[any, any]
	if len(args) == 1 {
		switch x := args[0].(type) {
		case *pickle.Dict:
			for k, v := range x.All() {
				its = append(its, syncmgr.Item[any, any]{Key: k, Value: v})
			}
		default:
			pairs, err := items(args[0], "update")
			if err != nil {
				return nil, err
			}
			for i, p := range pairs {
				kv, err := items(p, "update")
				if err != nil || len(kv) != 2 {
					return nil, mgr.PyException("ValueError", "dictionary update sequence element #"+itoa(i)+" has the wrong length")
				}
				its = append(its, syncmgr.Item[any, any]{Key: kv[0], Value: kv[1]})
			}
		}
	}
	if kwds != nil {
		for k, v := range kwds.All() {
			its = append(its, syncmgr.Item[any, any]{Key: k, Value: v})
		}
	}
	for _, it := range its {
		if err := key(it.Key); err != nil {
			return nil, err
		}
	}
	d.UpdateItems(its)
	return nil, nil
}

// Iterator is what iter(dict_proxy) reaches: a snapshot of the keys, served as CPython's
// IteratorProxy (__next__ until StopIteration).
type Iterator struct {
	mu    sync.Mutex
	items []any
	pos   int
}

var iteratorType = &mgr.PyType{
	TypeID:   "Iterator",
	GoTypeID: "pysync.Iterator",
	Exposed:  []string{"__next__", "send", "throw", "close"},
	Methods: map[string]mgr.PyMethod{
		"__next__": m0("__next__", func(o any) (any, error) { return o.(*Iterator).next() }),
		"send":     m1("send", func(o, _ any) (any, error) { return o.(*Iterator).next() }),
		"throw": func(_ context.Context, o any, args []any, _ *pickle.Dict) (any, error) {
			return nil, mgr.PyTypeError("throw() is not supported by the Go manager's iterators")
		},
		"close": m0("close", func(o any) (any, error) {
			it := o.(*Iterator)
			it.mu.Lock()
			it.pos = len(it.items)
			it.mu.Unlock()
			return nil, nil
		}),
	},
}

func (it *Iterator) next() (any, error) {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.pos >= len(it.items) {
		return nil, mgr.PyException("StopIteration")
	}
	v := it.items[it.pos]
	it.pos++
	return v, nil
}

// list

func indexError(err error) error {
	if errors.Is(err, syncmgr.ErrIndex) {
		return mgr.PyException("IndexError", "list index out of range")
	}
	return err
}

// sliceOf returns l[s] for a Python slice.
func sliceOf(all []any, s pickle.Slice) ([]any, error) {
	n := len(all)
	step := 1
	if s.Step != nil {
		st, err := toInt(s.Step, "slice step")
		if err != nil {
			return nil, err
		}
		if st == 0 {
			return nil, mgr.PyException("ValueError", "slice step cannot be zero")
		}
		step = st
	}
	bound := func(v any, def int) (int, error) {
		if v == nil {
			return def, nil
		}
		i, err := toInt(v, "slice index")
		if err != nil {
			return 0, err
		}
		if i < 0 {
			i += n
		}
		lo, hi := 0, n
		if step < 0 {
			lo, hi = -1, n-1
		}
		return max(lo, min(i, hi)), nil
	}
	var start, stop int
	var err error
	if step > 0 {
		if start, err = bound(s.Start, 0); err != nil {
			return nil, err
		}
		if stop, err = bound(s.Stop, n); err != nil {
			return nil, err
		}
	} else {
		if start, err = bound(s.Start, n-1); err != nil {
			return nil, err
		}
		if stop, err = bound(s.Stop, -1); err != nil {
			return nil, err
		}
	}
	out := []any{}
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		out = append(out, all[i])
	}
	return out, nil
}

func valueError(err error, msg string) error {
	if errors.Is(err, syncmgr.ErrNotFound) {
		return mgr.PyException("ValueError", msg)
	}
	return err
}

var listType = &mgr.PyType{
	TypeID:   "list",
	GoTypeID: syncmgr.ListTypeID[any](),
	Exposed: []string{"__add__", "__contains__", "__delitem__", "__getitem__", "__len__", "__mul__",
		"__reversed__", "__rmul__", "__setitem__", "append", "count", "extend", "index", "insert",
		"pop", "remove", "reverse", "sort", "__imul__",
		"clear", "copy"}, // Python 3.14's ListProxy adds these two
	New: func(ctx context.Context, args []any, kwds *pickle.Dict) (any, error) {
		v, set, err := params("list", args, kwds, "iterable")
		if err != nil {
			return nil, err
		}
		var init []any
		if set[0] {
			if init, err = items(v[0], "list"); err != nil {
				return nil, err
			}
		}
		return syncmgr.NewList(init), nil
	},
	Methods: map[string]mgr.PyMethod{
		"__add__": m1("__add__", func(o, x any) (any, error) {
			other, err := items(x, "__add__")
			if err != nil {
				return nil, err
			}
			return append(o.(*pyList).Copy(), other...), nil
		}),
		"__contains__": m1("__contains__", func(o, x any) (any, error) { return o.(*pyList).Contains(x), nil }),
		"__delitem__": m1("__delitem__", func(o, x any) (any, error) {
			i, err := toInt(x, "list indices")
			if err != nil {
				return nil, err
			}
			return nil, indexError(o.(*pyList).Delete(i))
		}),
		"__getitem__": m1("__getitem__", func(o, x any) (any, error) {
			if s, ok := x.(pickle.Slice); ok {
				return sliceOf(o.(*pyList).Copy(), s)
			}
			i, err := toInt(x, "list indices")
			if err != nil {
				return nil, err
			}
			v, err := o.(*pyList).Get(i)
			return v, indexError(err)
		}),
		"__len__":  m0("__len__", func(o any) (any, error) { return int64(o.(*pyList).Len()), nil }),
		"__mul__":  m1("__mul__", func(o, x any) (any, error) { return repeat(o.(*pyList).Copy(), x) }),
		"__rmul__": m1("__rmul__", func(o, x any) (any, error) { return repeat(o.(*pyList).Copy(), x) }),
		"__imul__": m1("__imul__", func(o, x any) (any, error) {
			l := o.(*pyList)
			all, err := repeat(l.Copy(), x)
			if err != nil {
				return nil, err
			}
			l.Clear()
			l.Extend(all.([]any))
			return nil, nil
		}),
		"clear": m0("clear", func(o any) (any, error) { o.(*pyList).Clear(); return nil, nil }),
		"copy":  m0("copy", func(o any) (any, error) { return o.(*pyList).Copy(), nil }),
		"__reversed__": m0("__reversed__", func(o any) (any, error) {
			all := o.(*pyList).Copy()
			slices.Reverse(all)
			return all, nil
		}),
		"__setitem__": func(_ context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
			v, set, err := params("__setitem__", args, kwds, "index", "value")
			if err != nil {
				return nil, err
			}
			if err := need("__setitem__", set, 2, "index", "value"); err != nil {
				return nil, err
			}
			i, err := toInt(v[0], "list indices")
			if err != nil {
				return nil, err
			}
			return nil, indexError(o.(*pyList).Set(i, v[1]))
		},
		"append": m1("append", func(o, x any) (any, error) { o.(*pyList).Append(x); return nil, nil }),
		"count":  m1("count", func(o, x any) (any, error) { return int64(o.(*pyList).Count(x)), nil }),
		"extend": m1("extend", func(o, x any) (any, error) {
			all, err := items(x, "extend")
			if err != nil {
				return nil, err
			}
			o.(*pyList).Extend(all)
			return nil, nil
		}),
		"index": m1("index", func(o, x any) (any, error) {
			i, err := o.(*pyList).Index(x)
			if err != nil {
				return nil, valueError(err, repr(x)+" is not in list")
			}
			return int64(i), nil
		}),
		"insert": func(_ context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
			v, set, err := params("insert", args, kwds, "index", "object")
			if err != nil {
				return nil, err
			}
			if err := need("insert", set, 2, "index", "object"); err != nil {
				return nil, err
			}
			i, err := toInt(v[0], "insert index")
			if err != nil {
				return nil, err
			}
			o.(*pyList).Insert(i, v[1])
			return nil, nil
		},
		"pop": func(ctx context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
			v, set, err := params("pop", args, kwds, "index")
			if err != nil {
				return nil, err
			}
			i := -1
			if set[0] {
				if i, err = toInt(v[0], "pop index"); err != nil {
					return nil, err
				}
			}
			x, err := o.(*pyList).Pop(ctx, i)
			if err != nil {
				if errors.Is(err, syncmgr.ErrIndex) {
					return nil, mgr.PyException("IndexError", "pop index out of range")
				}
				return nil, err
			}
			return x, nil
		},
		"remove": m1("remove", func(o, x any) (any, error) {
			return nil, valueError(o.(*pyList).Remove(x), "list.remove(x): x not in list")
		}),
		"reverse": m0("reverse", func(o any) (any, error) { o.(*pyList).Reverse(); return nil, nil }),
		"sort": func(_ context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
			if len(args) > 0 {
				return nil, mgr.PyTypeError("sort() takes no positional arguments")
			}
			v, _, err := params("sort", nil, kwds, "key", "reverse")
			if err != nil {
				return nil, err
			}
			if v[0] != nil {
				return nil, mgr.PyTypeError("sort(key=...) cannot run a Python function in the Go manager")
			}
			if err := o.(*pyList).Sort(truth(v[1])); err != nil {
				return nil, mgr.PyTypeError("'<' not supported between the list's elements (%v)", err)
			}
			return nil, nil
		},
	},
	Repr:  func(o any) string { return repr(o.(*pyList).Copy()) },
	Value: func(o any) (any, error) { return o.(*pyList).Copy(), nil },
}

func repeat(all []any, x any) (any, error) {
	n, err := toInt(x, "can't multiply sequence by non-int; the count")
	if err != nil {
		return nil, err
	}
	out := []any{}
	for range max(n, 0) {
		out = append(out, all...)
	}
	return out, nil
}
