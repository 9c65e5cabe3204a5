package pysync

import (
	"context"
	"errors"
	"fmt"
	"math"
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

// repr is Python's repr for the values str(proxy) shows; other values are named by
// their Go form.
func repr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case pickle.BigInt:
		return x.String()
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return map[bool]string{true: "inf", false: "-inf"}[x > 0]
		}
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") {
			s += ".0"
		}
		return s
	case string:
		return "'" + strings.ReplaceAll(strings.ReplaceAll(x, `\`, `\\`), "'", `\'`) + "'"
	case pickle.Bytes:
		return "b" + repr(string(x))
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = repr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case pickle.Tuple:
		elems, _ := x.Elems()
		parts := make([]string, len(elems))
		for i, e := range elems {
			parts[i] = repr(e)
		}
		if len(parts) == 1 {
			return "(" + parts[0] + ",)"
		}
		return "(" + strings.Join(parts, ", ") + ")"
	case *pickle.Dict:
		var parts []string
		for k, e := range x.All() {
			parts = append(parts, repr(k)+": "+repr(e))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

func itoa(i int) string { return strconv.Itoa(i) }
