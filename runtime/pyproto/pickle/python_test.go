package pickle

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"sort"
	"strings"
	"testing"

	"github.com/mgr-go/mgr/internal/pythons"
)

// runPython runs testdata/roundtrip.py under one interpreter.
func runPython(t *testing.T, py pythons.Python, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := py.Command(append([]string{"testdata/roundtrip.py"}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python %s roundtrip.py %v: %v\n%s", py.Version, args, err, stderr.Bytes())
	}
	return out
}

var token = Token{TypeID: "Iterator", Address: MustTuple("127.0.0.1", 50132), ID: "7fe38dd19ad0"}

func dictOf(kv ...any) *Dict {
	d := NewDict()
	for i := 0; i < len(kv); i += 2 {
		d.Set(kv[i], kv[i+1])
	}
	return d
}

// wantDecoded is what CPython's pickles of testdata/roundtrip.py's CASES decode to
// (those whose Go value is worth spelling out).
func wantDecoded() map[string]any {
	big70, _ := new(big.Int).SetString("1180591620717411303424", 10)
	return map[string]any{
		"none": nil, "true": true, "false": false, "int0": int64(0), "int255": int64(255),
		"int65536": int64(65536), "neg1": int64(-1), "int32min": int64(-1 << 31),
		"int63": int64(1<<63 - 1), "int63min": int64(-1 << 63),
		"int64":    NewBigInt(new(big.Int).Lsh(big.NewInt(1), 63)),
		"big70":    NewBigInt(big70),
		"negbig70": NewBigInt(new(big.Int).Neg(big70)),
		"float":    1.5, "complex": complex(1, -2), "str": "héllo", "emptystr": "",
		"surrogate": "a\xed\xb2\x80b", "bytes": Bytes("\x00\xffab"), "bytearray": ByteArray("ab\x00"),
		"tuple0": Tuple{}, "tuple1": MustTuple(1), "tuple5": MustTuple(1, 2, 3, 4, 5),
		"nested": MustTuple(1, []any{int64(2), dictOf("k", MustTuple(3, mustFS(4)))}, Set{int64(5): {}, int64(6): {}}),
		"list":   []any{int64(1), "x", Bytes("y"), nil, 2.5},
		"dict": dictOf("a", int64(1), MustTuple(1, 2), "tuplekey", int64(3), []any{int64(4)}, nil, "none",
			Bytes("b"), 2.0, mustFS(1), "fs"),
		"set":       Set{int64(1): {}, "a": {}, MustTuple(2, 3): {}},
		"frozenset": mustFS("x", 1), "emptyset": Set{},
		"slice": Slice{int64(1), int64(10), int64(2)}, "slicenone": Slice{nil, int64(5), nil},
		"array_i":     &Array{Typecode: "i", Values: []any{int64(1), int64(-2), int64(3)}},
		"array_d":     &Array{Typecode: "d", Values: []any{1.5}},
		"keyerror":    &Exception{Module: "builtins", Name: "KeyError", Args: []any{"missing"}},
		"valueerror":  &Exception{Module: "builtins", Name: "ValueError", Args: []any{"boom", int64(42)}},
		"empty":       &Exception{Module: "_queue", Name: "Empty"},
		"full":        &Exception{Module: "queue", Name: "Full"},
		"barrier":     &Exception{Module: "threading", Name: "BrokenBarrierError"},
		"token":       token,
		"token_unix":  Token{TypeID: "dict", Address: "/tmp/x.sock", ID: "abc"},
		"proxy_reply": MustTuple("#PROXY", MustTuple(MustTuple("__next__", "send"), token)),
		"error_reply": MustTuple("#ERROR", &Exception{Module: "builtins", Name: "KeyError", Args: []any{"k"}}),
		"request":     MustTuple(nil, "create", MustTuple("Counter", 1), dictOf("x", int64(2))),
	}
}

func mustFS(m ...any) FrozenSet {
	f, err := MakeFrozenSet(m...)
	if err != nil {
		panic(err)
	}
	return f
}

// sameValue compares decoded values by their encodings (canonical for this package's
// types: sets sorted, dicts in order).
func sameValue(t *testing.T, got, want any) bool {
	t.Helper()
	g, err1 := Encode(got)
	w, err2 := Encode(want)
	if err1 != nil || err2 != nil {
		t.Fatalf("encode for comparison: %v / %v", err1, err2)
	}
	return bytes.Equal(g, w)
}

// goValues are Go values a Go client would send; testdata/roundtrip.py's GO_CASES say
// what Python must read.
func goValues() map[string]any {
	u64max := ^uint64(0)
	return map[string]any{
		"go:nil": nil, "go:int": 42, "go:negint": int8(-7), "go:int64": int64(1 << 40),
		"go:uint64max": u64max, "go:big": new(big.Int).Lsh(big.NewInt(1), 70), "go:float": float32(0.25),
		"go:string": "gö", "go:bytes": []byte{1, 2}, "go:slice": []any{1, "a", nil},
		"go:ints": []int{1, 2, 3}, "go:strings": []string{"a", "b"},
		"go:map":    map[string]any{"b": []bool{true, false}, "a": 1},
		"go:intmap": map[int]string{2: "y", 1: "x"},
		"go:tuple":  MustTuple(1, "two", MustTuple(3.0)), "go:set": Set{1: {}, 2: {}},
		"go:frozenset": mustFS("a"), "go:dict": dictOf("z", 1, "a", 2), "go:complex": complex64(1 + 2i),
		"go:bytearray": ByteArray("z"),
		"go:exception": &Exception{Module: "builtins", Name: "KeyError", Args: []any{"k"}},
		"go:token":     token, "go:slice_obj": Slice{Start: 1},
		"go:array": &Array{Typecode: "i", Values: []any{1, 2}},
	}
}

// TestPythonRoundTrip decodes what every CPython found pickles (protocols 2–5 and the
// manager's ForkingPickler), checks the Go values, encodes them again and has the same
// CPython check it reads back equal values — Opaque ones (dataclasses, a tree with parent
// links, a list subclass, a function) included; Go's own values too.
func TestPythonRoundTrip(t *testing.T) {
	for _, py := range pythons.ForTest(t) {
		t.Run("python"+py.Version, func(t *testing.T) {
			var dump map[string]map[string]string
			if err := json.Unmarshal(runPython(t, py, nil, "dump"), &dump); err != nil {
				t.Fatal(err)
			}
			want := wantDecoded()
			back := map[string]string{}
			for name, byProto := range dump {
				for proto, h := range byProto {
					p, _ := hex.DecodeString(h)
					v, err := Decode(p)
					if err != nil {
						t.Errorf("%s protocol %s: %v", name, proto, err)
						continue
					}
					if w, ok := want[name]; ok && !sameValue(t, v, w) {
						t.Errorf("%s protocol %s: got %#v, want %#v", name, proto, v, w)
					}
					checkShape(t, name, v)
					enc, err := Encode(v)
					if err != nil {
						t.Errorf("%s protocol %s: encode: %v", name, proto, err)
						continue
					}
					back[name+"@"+proto] = hex.EncodeToString(enc)
				}
			}
			for name, v := range goValues() {
				enc, err := Encode(v)
				if err != nil {
					t.Errorf("%s: encode: %v", name, err)
					continue
				}
				back[name] = hex.EncodeToString(enc)
			}
			in, _ := json.Marshal(back)
			var res map[string]string
			if err := json.Unmarshal(runPython(t, py, in, "check"), &res); err != nil {
				t.Fatal(err)
			}
			var names []string
			for n := range back {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				if r, ok := res[n]; !ok || r != "" {
					t.Errorf("python read %s back wrong: %s", n, r)
				}
			}
		})
	}
}

// checkShape checks the Go types of the values wantDecoded does not spell out.
func checkShape(t *testing.T, name string, v any) {
	t.Helper()
	switch name {
	case "point", "tree", "mylist", "func", "cls":
		o, ok := v.(Opaque)
		if !ok {
			t.Errorf("%s: got %T, want Opaque", name, v)
			return
		}
		if mod, _ := o.Global(); mod != "__main__" && mod != "builtins" {
			t.Errorf("%s: global module %q", name, mod)
		}
	case "points":
		l, ok := v.([]any)
		if !ok || len(l) != 3 {
			t.Errorf("points: got %#v", v)
			return
		}
		if _, ok := l[0].(Opaque); !ok {
			t.Errorf("points[0]: %T", l[0])
		}
		tu, ok := l[2].(Tuple)
		if !ok {
			t.Errorf("points[2]: %T", l[2])
			return
		}
		if e, err := tu.Elems(); err != nil || len(e) != 1 {
			t.Errorf("points[2]: %v %v", e, err)
		} else if _, ok := e[0].(Opaque); !ok {
			t.Errorf("points[2][0]: %T", e[0])
		}
	case "keydict":
		d, ok := v.(*Dict)
		if !ok || d.Len() != 1 {
			t.Errorf("keydict: %#v", v)
			return
		}
		if _, ok := d.Keys()[0].(Opaque); !ok {
			t.Errorf("keydict key: %T", d.Keys()[0])
		}
	case "rebuild":
		l, ok := v.([]any)
		if !ok || len(l) != 2 {
			t.Errorf("rebuild: %#v", v)
			return
		}
		p, ok := l[0].(*Proxy)
		if !ok || p.Module != managersModule || p.Class != "ListProxy" || p.Token != token || p.Serializer != "pickle" {
			t.Errorf("rebuild[0]: %#v", l[0])
		}
		a, ok := l[1].(*Proxy)
		if !ok || a.Class != "AutoProxy" || strings.Join(a.Exposed(), ",") != "get,put" {
			t.Errorf("rebuild[1]: %#v", l[1])
		}
	}
}
