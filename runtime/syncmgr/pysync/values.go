package pysync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// Namespace (NamespaceProxy), Value (ValueProxy), Array (ArrayProxy).

var namespaceType = &mgr.PyType{
	TypeID:   "Namespace",
	GoTypeID: syncmgr.NamespaceTypeID,
	Exposed:  []string{"__getattribute__", "__setattr__", "__delattr__"},
	New: func(_ context.Context, args []any, kwds *pickle.Dict) (any, error) {
		if len(args) > 0 {
			return nil, mgr.PyTypeError("Namespace() takes only keyword arguments")
		}
		ns := syncmgr.NewNamespace()
		if kwds != nil {
			for k, v := range kwds.All() {
				ns.Set(k.(string), v)
			}
		}
		return ns, nil
	},
	Methods: map[string]mgr.PyMethod{
		"__getattribute__": m1("__getattribute__", func(o, x any) (any, error) {
			name, ok := x.(string)
			if !ok {
				return nil, mgr.PyTypeError("attribute name must be string, not '%s'", pyTypeName(x))
			}
			v, err := o.(*syncmgr.Namespace).Get(name)
			if err != nil {
				return nil, mgr.PyException("AttributeError", fmt.Sprintf("'Namespace' object has no attribute '%s'", name))
			}
			return v, nil
		}),
		"__setattr__": func(_ context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
			v, set, err := params("__setattr__", args, kwds, "name", "value")
			if err != nil {
				return nil, err
			}
			if err := need("__setattr__", set, 2, "name", "value"); err != nil {
				return nil, err
			}
			name, ok := v[0].(string)
			if !ok {
				return nil, mgr.PyTypeError("attribute name must be string, not '%s'", pyTypeName(v[0]))
			}
			o.(*syncmgr.Namespace).Set(name, v[1])
			return nil, nil
		},
		"__delattr__": m1("__delattr__", func(o, x any) (any, error) {
			name, _ := x.(string)
			if err := o.(*syncmgr.Namespace).Delete(name); err != nil {
				return nil, mgr.PyException("AttributeError", name)
			}
			return nil, nil
		}),
	},
	Repr: func(o any) string {
		all := o.(*syncmgr.Namespace).All()
		names := make([]string, 0, len(all))
		for k := range all {
			if !strings.HasPrefix(k, "_") {
				names = append(names, k)
			}
		}
		slices.Sort(names)
		parts := make([]string, len(names))
		for i, k := range names {
			parts[i] = k + "=" + repr(all[k])
		}
		return "Namespace(" + strings.Join(parts, ", ") + ")"
	},
}

type pyValue = syncmgr.Value[any]

var valueType = &mgr.PyType{
	TypeID:   "Value",
	GoTypeID: syncmgr.ValueTypeID[any](),
	Exposed:  []string{"get", "set"},
	New: func(_ context.Context, args []any, kwds *pickle.Dict) (any, error) {
		v, set, err := params("Value", args, kwds, "typecode", "value", "lock")
		if err != nil {
			return nil, err
		}
		if err := need("Value", set, 2, "typecode", "value"); err != nil {
			return nil, err
		}
		return syncmgr.NewValue(v[1]), nil
	},
	Methods: map[string]mgr.PyMethod{
		"get": m0("get", func(o any) (any, error) { return o.(*pyValue).Get(), nil }),
		"set": m1("set", func(o, x any) (any, error) { o.(*pyValue).Set(x); return nil, nil }),
	},
	Repr:  func(o any) string { return "Value(" + repr(o.(*pyValue).Get()) + ")" },
	Value: func(o any) (any, error) { return o.(*pyValue).Get(), nil },
}

type pyArray = syncmgr.Array[any]

var arrayType = &mgr.PyType{
	TypeID:   "Array",
	GoTypeID: syncmgr.ArrayTypeID[any](),
	Exposed:  []string{"__len__", "__getitem__", "__setitem__"},
	New: func(_ context.Context, args []any, kwds *pickle.Dict) (any, error) {
		v, set, err := params("Array", args, kwds, "typecode", "sequence", "lock")
		if err != nil {
			return nil, err
		}
		if err := need("Array", set, 2, "typecode", "sequence"); err != nil {
			return nil, err
		}
		var init []any
		if n, ok := v[1].(int64); ok {
			init = make([]any, n) // Array('i', 10): ten zeros
			for i := range init {
				init[i] = int64(0)
			}
		} else if init, err = items(v[1], "Array"); err != nil {
			return nil, err
		}
		return syncmgr.NewArray(init), nil
	},
	Methods: map[string]mgr.PyMethod{
		"__len__": m0("__len__", func(o any) (any, error) { return int64(o.(*pyArray).Len()), nil }),
		"__getitem__": m1("__getitem__", func(o, x any) (any, error) {
			if s, ok := x.(pickle.Slice); ok {
				return sliceOf(o.(*pyArray).Items(), s)
			}
			i, err := toInt(x, "array indices")
			if err != nil {
				return nil, err
			}
			v, err := o.(*pyArray).Get(i)
			if errors.Is(err, syncmgr.ErrIndex) {
				return nil, mgr.PyException("IndexError", "array index out of range")
			}
			return v, err
		}),
		"__setitem__": func(_ context.Context, o any, args []any, kwds *pickle.Dict) (any, error) {
			v, set, err := params("__setitem__", args, kwds, "index", "value")
			if err != nil {
				return nil, err
			}
			if err := need("__setitem__", set, 2, "index", "value"); err != nil {
				return nil, err
			}
			i, err := toInt(v[0], "array indices")
			if err != nil {
				return nil, err
			}
			if err := o.(*pyArray).Set(i, v[1]); errors.Is(err, syncmgr.ErrIndex) {
				return nil, mgr.PyException("IndexError", "array assignment index out of range")
			} else if err != nil {
				return nil, err
			}
			return nil, nil
		},
	},
	Repr:  func(o any) string { return "Array(" + repr(o.(*pyArray).Items()) + ")" },
	Value: func(o any) (any, error) { return o.(*pyArray).Items(), nil },
}

// maxRepr bounds what str(proxy) spells out of a value (pickle.Repr): a value whose
// parts are shared is small in memory and exponential when spelled out.
const maxRepr = 1 << 20

// repr is Python's repr for the values str(proxy) shows.
func repr(v any) string { return pickle.Repr(v, maxRepr) }

func itoa(i int) string { return strconv.Itoa(i) }
