package mgr

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestParseSig: the manager's signatures, with a generic type's parameters bound to the
// type arguments of its TypeID, become the types CallText reads arguments as.
func TestParseSig(t *testing.T) {
	cases := []struct {
		sig, typeID     string
		params, results []reflect.Type
		err             string
	}{
		{"func(int) string", "x.T", []reflect.Type{reflect.TypeFor[int]()}, []reflect.Type{reflect.TypeFor[string]()}, ""},
		{"func()", "x.T", nil, nil, ""},
		{"func(T, time.Duration) bool", "syncmgr.Queue[int]", []reflect.Type{reflect.TypeFor[int](), reflect.TypeFor[time.Duration]()}, []reflect.Type{reflect.TypeFor[bool]()}, ""},
		{"func(K) (V, bool)", "syncmgr.Dict[string,[]float64]", []reflect.Type{reflect.TypeFor[string]()}, []reflect.Type{reflect.TypeFor[[]float64](), reflect.TypeFor[bool]()}, ""},
		{"func() map[K]V", "syncmgr.Dict[string,interface {}]", nil, []reflect.Type{reflect.TypeFor[map[string]any]()}, ""},
		{"func(string, any)", "syncmgr.Namespace", []reflect.Type{reflect.TypeFor[string](), reflect.TypeFor[any]()}, nil, ""},
		{"func() []github.com/mgr-go/mgr/runtime/syncmgr.Item[K, V]", "syncmgr.Dict[string,int]", nil, nil, "not supported"},
		{"func(example.com/geo.Point)", "x.T", nil, nil, "not supported"},
		{"func(", "x.T", nil, nil, "unreadable"},
	}
	for _, c := range cases {
		params, results, err := parseSig(c.sig, c.typeID)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseSig(%q, %q) = %v, want an error saying %q", c.sig, c.typeID, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(params, c.params) || !reflect.DeepEqual(results, c.results) {
			t.Errorf("parseSig(%q, %q) = %v, %v, %v; want %v, %v", c.sig, c.typeID, params, results, err, c.params, c.results)
		}
	}
}

// TestParseArg: arguments as JSON of the parameter's type, bare text for strings.
func TestParseArg(t *testing.T) {
	cases := []struct {
		text string
		typ  reflect.Type
		want any
		err  bool
	}{
		{"3", reflect.TypeFor[int](), 3, false},
		{"3.5", reflect.TypeFor[int](), nil, true},
		{"abc", reflect.TypeFor[int](), nil, true},
		{"hello", reflect.TypeFor[string](), "hello", false},
		{`"quoted"`, reflect.TypeFor[string](), "quoted", false},
		{"1.5s", reflect.TypeFor[time.Duration](), 1500 * time.Millisecond, false},
		{"[1,2]", reflect.TypeFor[[]int](), []int{1, 2}, false},
		{`{"a":1}`, reflect.TypeFor[map[string]int](), map[string]int{"a": 1}, false},
		{"true", reflect.TypeFor[bool](), true, false},
		{"1 2", reflect.TypeFor[int](), nil, true},
		{"word", reflect.TypeFor[any](), "word", false},
	}
	for _, c := range cases {
		v, err := parseArg(c.text, c.typ)
		if c.err {
			if err == nil {
				t.Errorf("parseArg(%q, %s) = %v, want an error", c.text, c.typ, v)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(v.Interface(), c.want) {
			t.Errorf("parseArg(%q, %s) = %v, %v; want %v", c.text, c.typ, v, err, c.want)
		}
	}
}

// TestParseSigNestingBounded: a signature is the manager's text; one nesting slices or
// maps a million deep (a few MB, within a frame) must be refused, not recursed into
// (the recursion and reflect's type cache grew without bound; millions deep it is a
// fatal stack overflow of the client).
func TestParseSigNestingBounded(t *testing.T) {
	for _, sig := range []string{
		"func(" + strings.Repeat("[]", 100000) + "int)",
		"func() " + strings.Repeat("map[string]", 100000) + "int",
	} {
		if _, _, err := parseSig(sig, "x.T"); err == nil || !strings.Contains(err.Error(), "nested") {
			t.Errorf("%.20s…: %v, want a nesting error", sig, err)
		}
	}
	if _, _, err := parseSig("func("+strings.Repeat("[]", 8)+"int)", "x.T"); err != nil {
		t.Errorf("8 levels: %v", err)
	}
}
