package mgr

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
)

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"GetValue": "get_value", "GetX": "get_x", "HTTPStatus": "http_status", "ID": "id",
		"Increment": "increment", "ParseURLNow": "parse_url_now", "Get2D": "get2_d",
	} {
		if got := SnakeCase(in); got != want {
			t.Errorf("SnakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBridgeConverts calls a method through the Python bridge: arguments converted to
// the Go types its Sig names, a mismatch a TypeError before the method runs.
func TestBridgeConverts(t *testing.T) {
	ran := 0
	m := &Method{Name: "Scale", Sig: "func(int8, string, []byte) (int, bool)",
		Call: func(ctx context.Context, obj any, args *Decoder, res *Encoder) error {
			n, s, b := args.IntN(8), args.String(), args.ByteSlice()
			if err := args.Done(); err != nil {
				return err
			}
			ran++
			res.Int64(int64(n) * int64(len(s)+len(b)))
			res.Bool(true)
			return nil
		}}
	params, results, ok := pySig(m.Sig, "")
	if !ok {
		t.Fatal("parseSig refused a convertible signature")
	}
	call := bridgeMethod("T.scale", m, params, results)
	got, err := call(context.Background(), nil, []any{int64(3), "ab", pickle.Bytes("c")}, nil)
	if err != nil || got != pickle.MustTuple(int64(9), true) {
		t.Fatalf("scale(3, 'ab', b'c') = %v, %v", got, err)
	}
	for _, bad := range [][]any{
		{"3", "ab", pickle.Bytes("c")},       // str for int8
		{int64(300), "ab", pickle.Bytes("")}, // out of int8's range
		{int64(3), int64(1), pickle.Bytes("")},
		{int64(3), "ab"}, // too few
	} {
		_, err := call(context.Background(), nil, bad, nil)
		var exc *pickle.Exception
		if !errors.As(err, &exc) || exc.Name != "TypeError" {
			t.Errorf("scale%v: %v, want a TypeError", bad, err)
		}
	}
	if ran != 1 {
		t.Errorf("the method ran %d times, want once (bad calls must not reach it)", ran)
	}
	big70 := pickle.NewBigInt(new(big.Int).Lsh(big.NewInt(1), 70))
	if _, err := call(context.Background(), nil, []any{big70, "ab", pickle.Bytes("c")}, nil); err == nil || !strings.Contains(err.Error(), "1180591620717411303424 is out of range for int8") {
		t.Errorf("scale(2**70, ...): %v, want a TypeError saying 2**70 is out of range (not \"must be int, not int\")", err)
	}
	if _, _, ok := pySig("func(map[string]int) int", ""); ok {
		t.Error("parseSig took a map parameter, which has no Python conversion here")
	}
}

// TestPySigConvertible: the bridge takes the types gen/python.go's pyConvertible takes
// (rune and byte are int32 and uint8 there too) and refuses named ones, uintptr and any.
func TestPySigConvertible(t *testing.T) {
	for _, sig := range []string{"func(rune, byte, []uint8) (uint, float32)", "func()", "func(int) string"} {
		if _, _, ok := pySig(sig, ""); !ok {
			t.Errorf("pySig(%q) refused it", sig)
		}
	}
	for _, sig := range []string{"func(time.Duration)", "func(uintptr)", "func() any", "func([]int)", "func(Celsius)"} {
		if _, _, ok := pySig(sig, ""); ok {
			t.Errorf("pySig(%q) took it", sig)
		}
	}
	if _, _, ok := pySig("func(K, V) V", "syncmgr.Dict[string,int]"); !ok {
		t.Error("pySig did not bind an instantiation's type parameters")
	}
}
