package pickle

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
)

// builtinExceptions are the exception classes of builtins in CPython 3.11–3.13.
var builtinExceptions = setOf(
	"ArithmeticError", "AssertionError", "AttributeError", "BaseException", "BaseExceptionGroup",
	"BlockingIOError", "BrokenPipeError", "BufferError", "BytesWarning", "ChildProcessError",
	"ConnectionAbortedError", "ConnectionError", "ConnectionRefusedError", "ConnectionResetError",
	"DeprecationWarning", "EOFError", "EncodingWarning", "EnvironmentError", "Exception",
	"ExceptionGroup", "FileExistsError", "FileNotFoundError", "FloatingPointError", "FutureWarning",
	"GeneratorExit", "IOError", "ImportError", "ImportWarning", "IndentationError", "IndexError",
	"InterruptedError", "IsADirectoryError", "KeyError", "KeyboardInterrupt", "LookupError",
	"MemoryError", "ModuleNotFoundError", "NameError", "NotADirectoryError", "NotImplementedError",
	"OSError", "OverflowError", "PendingDeprecationWarning", "PermissionError", "ProcessLookupError",
	"PythonFinalizationError", "RecursionError", "ReferenceError", "ResourceWarning", "RuntimeError",
	"RuntimeWarning", "StopAsyncIteration", "StopIteration", "SyntaxError", "SyntaxWarning",
	"SystemError", "SystemExit", "TabError", "TimeoutError", "TypeError", "UnboundLocalError",
	"UnicodeDecodeError", "UnicodeEncodeError", "UnicodeError", "UnicodeTranslateError",
	"UnicodeWarning", "UserWarning", "ValueError", "Warning", "ZeroDivisionError",
)

// otherExceptions are the exception classes outside builtins that manager traffic
// carries, by "module.name" as pickled (queue.Empty is the C module's _queue.Empty).
var otherExceptions = setOf(
	"_queue.Empty", "queue.Empty", "queue.Full", "queue.ShutDown", "threading.BrokenBarrierError",
	"multiprocessing.managers.RemoteError", "multiprocessing.context.ProcessError",
	"multiprocessing.context.BufferTooShort", "multiprocessing.context.TimeoutError",
	"multiprocessing.context.AuthenticationError", "asyncio.exceptions.CancelledError",
	"concurrent.futures._base.CancelledError", "concurrent.futures._base.TimeoutError",
)

// proxyClasses are multiprocessing.managers' own proxy types.
var proxyClasses = setOf(
	"BaseProxy", "AutoProxy", "ListProxy", "BaseListProxy", "DictProxy", "_BaseDictProxy",
	"SetProxy", "_BaseSetProxy", "IteratorProxy", "AcquirerProxy", "ConditionProxy",
	"EventProxy", "BarrierProxy", "NamespaceProxy", "ValueProxy", "ArrayProxy", "PoolProxy",
)

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

func isException(g globalRef) bool {
	if g.module == "builtins" {
		return builtinExceptions[g.name]
	}
	return otherExceptions[g.module+"."+g.name]
}

// allowed reports whether a global is one this package interprets (Options.Strict
// admits only these).
func allowed(mod, name string) bool {
	g := globalRef{mod, name}
	if isException(g) {
		return true
	}
	switch mod {
	case "builtins":
		switch name {
		case "slice", "complex", "bytearray", "set", "frozenset", "list", "tuple", "dict", "bytes", "str", "int", "float", "bool":
			return true
		}
	case "_codecs":
		return name == "encode"
	case "array":
		return name == "array"
	case managersModule:
		return name == "Token" || name == "RebuildProxy" || proxyClasses[name]
	}
	return false
}

// reduce applies REDUCE: an allow-listed callable is interpreted, anything else is
// kept as an objNode to be written back.
func reduce(fn any, args Tuple, b *budget) (any, error) {
	g, ok := fn.(globalRef)
	if !ok {
		return &objNode{kind: opReduce, fn: fn, args: args}, nil
	}
	if isException(g) {
		e, err := args.Elems()
		if err != nil {
			return nil, err
		}
		return &Exception{Module: g.module, Name: g.name, Args: e}, nil
	}
	v, ok, err := reduceKnown(g, args, b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s.%s%s: %v", ErrMalformed, g.module, g.name, args, err)
	}
	if ok {
		return v, nil
	}
	return &objNode{kind: opReduce, fn: fn, args: args}, nil
}

// reduceKnown interprets the allow-listed callables whose arguments it understands;
// ok false keeps the call opaque (arguments of an unexpected shape included).
func reduceKnown(g globalRef, args Tuple, b *budget) (v any, ok bool, err error) {
	key := g.module + "." + g.name
	switch key {
	case "builtins.slice", "builtins.complex", "builtins.bytearray", "builtins.set", "builtins.frozenset",
		"builtins.list", "_codecs.encode", "array.array", "array._array_reconstructor", managersModule + ".RebuildProxy":
	default:
		return nil, false, nil
	}
	e, err := args.Elems()
	if err != nil {
		return nil, false, err
	}
	switch key {
	case "builtins.slice":
		if len(e) < 1 || len(e) > 3 {
			return nil, false, nil
		}
		s := Slice{}
		switch len(e) {
		case 1:
			s.Stop = e[0]
		case 2:
			s.Start, s.Stop = e[0], e[1]
		case 3:
			s.Start, s.Stop, s.Step = e[0], e[1], e[2]
		}
		return s, true, nil
	case "builtins.complex":
		var re, im float64
		if len(e) > 2 {
			return nil, false, nil
		}
		for i, x := range e {
			f, ok := toFloat(x)
			if !ok {
				return nil, false, nil
			}
			if i == 0 {
				re = f
			} else {
				im = f
			}
		}
		return complex(re, im), true, nil
	case "builtins.bytearray":
		switch {
		case len(e) == 0:
			return ByteArray{}, true, nil
		case len(e) == 1:
			if bs, ok := e[0].(Bytes); ok {
				return ByteArray(bs), true, nil
			}
		case len(e) == 2 && e[1] == "latin-1":
			// Protocol 2: bytearray(str, 'latin-1').
			if s, ok := e[0].(string); ok {
				if bs, ok := latin1(s); ok {
					return ByteArray(bs), true, nil
				}
			}
		}
	case "_codecs.encode":
		// Protocol 2 writes bytes as _codecs.encode(str, 'latin1').
		if len(e) == 2 && (e[1] == "latin1" || e[1] == "latin-1") {
			if s, ok := e[0].(string); ok {
				if bs, ok := latin1(s); ok {
					return Bytes(bs), true, nil
				}
			}
		}
	case "builtins.set", "builtins.frozenset", "builtins.list":
		var items []any
		switch {
		case len(e) == 0:
		case len(e) == 1:
			l, ok := e[0].([]any)
			if !ok {
				return nil, false, nil
			}
			items = l
		default:
			return nil, false, nil
		}
		switch key {
		case "builtins.list":
			if items == nil {
				items = []any{}
			}
			return &listNode{items: items}, true, nil
		case "builtins.set":
			s := &setNode{m: Set{}}
			for _, it := range items {
				if err := Hashable(it); err != nil {
					return nil, false, err
				}
				s.m[it] = struct{}{}
			}
			return s, true, nil
		default:
			fs, err := makeFrozenSet(items, b)
			return fs, err == nil, err
		}
	case "array.array":
		if len(e) != 2 {
			return nil, false, nil
		}
		tc, ok := e[0].(string)
		if !ok {
			return nil, false, nil
		}
		a, ok := arrayFrom(tc, e[1])
		return a, ok, nil
	case "array._array_reconstructor":
		// Plain pickle's form: (array.array, typecode, machine format code, bytes). Only
		// the little-endian native layout of the typecode is interpreted.
		if len(e) != 4 {
			return nil, false, nil
		}
		cls, _ := bareGlobal(e[0])
		tc, ok1 := e[1].(string)
		code, ok2 := e[2].(int64)
		if cls != (globalRef{"array", "array"}) || !ok1 || !ok2 || arrayMachineCode[tc] != code {
			return nil, false, nil
		}
		a, ok := arrayFrom(tc, e[3])
		return a, ok, nil
	case managersModule + ".RebuildProxy":
		if len(e) != 4 {
			return nil, false, nil
		}
		// The proxy type arrives finalized as an Opaque holding a bare global.
		cls, ok1 := bareGlobal(e[0])
		tok, ok2 := e[1].(Token)
		ser, ok3 := e[2].(string)
		kw, ok4 := e[3].(*Dict)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, false, nil
		}
		return &Proxy{Module: cls.module, Class: cls.name, Token: tok, Serializer: ser, Kwds: kw}, true, nil
	}
	return nil, false, nil
}

func toFloat(x any) (float64, bool) {
	switch v := x.(type) {
	case float64:
		return v, true
	case int64:
		return float64(v), true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// latin1 converts a str whose code points are all < 256 to those bytes.
func latin1(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 255 {
			return nil, false
		}
		out = append(out, byte(r))
	}
	return out, true
}

// arrayItemSize is the machine size of each array.array typecode on 64-bit Linux.
var arrayItemSize = map[string]int{"b": 1, "B": 1, "u": 4, "w": 4, "h": 2, "H": 2, "i": 4, "I": 4, "l": 8, "L": 8, "q": 8, "Q": 8, "f": 4, "d": 8}

// arrayMachineCode is array's machine format code (arraymodule.c) of each typecode's
// layout on little-endian 64-bit Linux.
var arrayMachineCode = map[string]int64{"b": 1, "B": 0, "h": 4, "H": 2, "i": 8, "I": 6, "l": 12, "L": 10, "q": 12, "Q": 10, "f": 14, "d": 16, "u": 20, "w": 20}

// arrayFrom interprets array.array(typecode, init) for init bytes (the manager's
// reducer sends a.tobytes(), little-endian machine order) or a list.
func arrayFrom(tc string, init any) (*Array, bool) {
	size, ok := arrayItemSize[tc]
	if !ok {
		return nil, false
	}
	a := &Array{Typecode: tc}
	switch x := init.(type) {
	case []any:
		a.Values = x
		return a, true
	case Bytes:
		if len(x)%size != 0 {
			return nil, false
		}
		a.Values = make([]any, 0, len(x)/size)
		for i := 0; i < len(x); i += size {
			p := []byte(x[i : i+size])
			var v any
			switch tc {
			case "b":
				v = int64(int8(p[0]))
			case "B":
				v = int64(p[0])
			case "h":
				v = int64(int16(binary.LittleEndian.Uint16(p)))
			case "H":
				v = int64(binary.LittleEndian.Uint16(p))
			case "i":
				v = int64(int32(binary.LittleEndian.Uint32(p)))
			case "I":
				v = int64(binary.LittleEndian.Uint32(p))
			case "l", "q":
				v = int64(binary.LittleEndian.Uint64(p))
			case "L", "Q":
				u := binary.LittleEndian.Uint64(p)
				if u > math.MaxInt64 {
					v = NewBigInt(new(big.Int).SetUint64(u))
				} else {
					v = int64(u)
				}
			case "f":
				v = float64(math.Float32frombits(binary.LittleEndian.Uint32(p)))
			case "d":
				v = math.Float64frombits(binary.LittleEndian.Uint64(p))
			case "u", "w":
				v = string(rune(binary.LittleEndian.Uint32(p)))
			}
			a.Values = append(a.Values, v)
		}
		return a, true
	}
	return nil, false
}

// hashKey turns a decoded value into the comparable value used as a dict key or set
// member, or fails as Python would ("unhashable type").
func hashKey(v any, b *budget) (any, error) {
	switch x := v.(type) {
	case *objNode, globalRef:
		return opaqueOf(x, b)
	case *tokenNode:
		x.frozen = true
		return x.tok, nil
	case *Proxy:
		return x, nil
	}
	if err := Hashable(v); err != nil {
		return nil, err
	}
	return v, b.hashed(v)
}

// intFromLE decodes a LONG1/LONG4 body: int64 when it fits, else BigInt.
func intFromLE(s string) any {
	if len(s) == 0 {
		return int64(0)
	}
	if len(s) <= 8 {
		var u uint64
		for i := len(s) - 1; i >= 0; i-- {
			u = u<<8 | uint64(s[i])
		}
		// Sign-extend from len(s) bytes.
		shift := uint(64 - 8*len(s))
		return int64(u<<shift) >> shift
	}
	x := decodeLong([]byte(s))
	if x.IsInt64() {
		return x.Int64()
	}
	return BigInt{le: string(longBytes(x))}
}

// decodeLong decodes little-endian two's complement.
func decodeLong(le []byte) *big.Int {
	n := len(le)
	if n == 0 {
		return new(big.Int)
	}
	be := make([]byte, n)
	for i := range le {
		be[n-1-i] = le[i]
	}
	x := new(big.Int).SetBytes(be)
	if le[n-1]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*n)))
	}
	return x
}

// longBytes encodes x as the shortest little-endian two's complement (pickle's
// encode_long), empty for 0.
func longBytes(x *big.Int) []byte {
	if x.Sign() == 0 {
		return nil
	}
	var be []byte
	if x.Sign() > 0 {
		be = x.Bytes()
		if be[0]&0x80 != 0 {
			be = append([]byte{0}, be...)
		}
	} else {
		// Two's complement of a negative number in n bytes: 2^(8n) + x, for the
		// smallest n whose range holds x.
		n := (x.BitLen() + 8) / 8
		m := new(big.Int).Lsh(big.NewInt(1), uint(8*n))
		m.Add(m, x)
		be = m.Bytes()
		for len(be) < n {
			be = append([]byte{0}, be...)
		}
		// Drop a redundant 0xff if the next byte already carries the sign.
		if len(be) > 1 && be[0] == 0xff && be[1]&0x80 != 0 {
			be = be[1:]
		}
	}
	le := make([]byte, len(be))
	for i := range be {
		le[len(be)-1-i] = be[i]
	}
	return le
}

// bareGlobal returns the global an Opaque value is, when it is nothing but a reference
// to a module-level name (not, say, a call of one).
func bareGlobal(v any) (globalRef, bool) {
	o, ok := v.(Opaque)
	if !ok {
		return globalRef{}, false
	}
	n, err := decodeNode(o.pkl)
	if err != nil {
		return globalRef{}, false
	}
	g, ok := n.(globalRef)
	return g, ok
}
