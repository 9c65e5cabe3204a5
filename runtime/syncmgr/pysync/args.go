package pysync

import (
	"fmt"
	"math"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
)

// params binds a call's positional and keyword arguments to parameter names, as Python
// would, with a TypeError for too many, unknown or repeated ones.
func params(method string, args []any, kwds *pickle.Dict, names ...string) ([]any, []bool, error) {
	if len(args) > len(names) {
		return nil, nil, mgr.PyTypeError("%s() takes at most %d arguments (%d given)", method, len(names), len(args))
	}
	vals := make([]any, len(names))
	set := make([]bool, len(names))
	for i, a := range args {
		vals[i], set[i] = a, true
	}
	if kwds != nil {
		for k, v := range kwds.All() {
			name, _ := k.(string)
			i := -1
			for j, n := range names {
				if n == name {
					i = j
				}
			}
			if i < 0 {
				return nil, nil, mgr.PyTypeError("%s() got an unexpected keyword argument %v", method, k)
			}
			if set[i] {
				return nil, nil, mgr.PyTypeError("%s() got multiple values for argument '%s'", method, name)
			}
			vals[i], set[i] = v, true
		}
	}
	return vals, set, nil
}

// need fails unless the first n parameters were given.
func need(method string, set []bool, n int, names ...string) error {
	for i := range n {
		if !set[i] {
			return mgr.PyTypeError("%s() missing required argument: '%s'", method, names[i])
		}
	}
	return nil
}

func toInt(v any, what string) (int, error) {
	switch x := v.(type) {
	case int64:
		return int(x), nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	}
	return 0, mgr.PyTypeError("%s must be an integer, not %s", what, pyTypeName(v))
}

// truth is Python's bool(v) for the values a blocking flag may be.
func truth(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	}
	return true
}

// timeout reads a timeout argument: None (or absent) is none (-1), else seconds.
func timeout(v any, set bool) (time.Duration, error) {
	if !set || v == nil {
		return -1, nil
	}
	var secs float64
	switch x := v.(type) {
	case int64:
		secs = float64(x)
	case float64:
		secs = x
	case bool:
		if x {
			secs = 1
		}
	default:
		return 0, mgr.PyTypeError("timeout must be a number, not %s", pyTypeName(v))
	}
	if math.IsNaN(secs) || secs < 0 {
		return 0, mgr.PyException("ValueError", "'timeout' must be a non-negative number")
	}
	if secs > 1e9 {
		return -1, nil
	}
	return time.Duration(secs * float64(time.Second)), nil
}

func pyTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int64, pickle.BigInt:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case pickle.Bytes:
		return "bytes"
	case []any:
		return "list"
	case pickle.Tuple:
		return "tuple"
	case *pickle.Dict:
		return "dict"
	case pickle.Set:
		return "set"
	}
	return fmt.Sprintf("%T", v)
}

// items returns the elements of an iterable argument (list, tuple, set, frozenset,
// dict keys, bytes as ints).
func items(v any, what string) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case pickle.Tuple:
		return x.Elems()
	case pickle.FrozenSet:
		return x.Members()
	case pickle.Set:
		out := make([]any, 0, len(x))
		for k := range x {
			out = append(out, k)
		}
		return out, nil
	case *pickle.Dict:
		return x.Keys(), nil
	case *pickle.Array:
		return x.Values, nil
	case pickle.Bytes:
		out := make([]any, len(x))
		for i := range len(x) {
			out[i] = int64(x[i])
		}
		return out, nil
	case string:
		out := make([]any, 0, len(x))
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, nil
	}
	return nil, mgr.PyTypeError("%s: '%s' object is not iterable", what, pyTypeName(v))
}

// noArgs fails if a method that takes none got some.
func noArgs(method string, args []any, kwds *pickle.Dict) error {
	_, _, err := params(method, args, kwds)
	return err
}
