package pickle

import (
	"testing"

	"github.com/mgr-go/mgr/internal/pythons"
)

// An ordinary message that shares one value many times through the memo — a reply
// ('#RETURN', [cfg]*1000) with a 1.7 KB dict cfg, 3.7 KB of pickle — must decode: the
// expansion bound is there for "billion laughs", not for a program's list of references
// to one config dict.
func TestSharedValueMessagesDecode(t *testing.T) {
	for _, py := range pythons.ForTest(t) {
		cmd := py.Command("-c", `import pickle, sys
cfg = {('k%d' % i): 'v' * 10 for i in range(100)}
sys.stdout.buffer.write(pickle.dumps(('#RETURN', [cfg] * 1000), 4))`)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("python %s: %v", py.Version, err)
		}
		v, err := Decode(out)
		if err != nil {
			t.Fatalf("python %s: decoding a %d-byte reply holding one dict 1000 times: %v", py.Version, len(out), err)
		}
		elems, err := v.(Tuple).Elems()
		if err != nil {
			t.Fatal(err)
		}
		items := elems[1].([]any)
		if len(items) != 1000 {
			t.Fatalf("python %s: %d items, want 1000", py.Version, len(items))
		}
		if d, ok := items[999].(*Dict); !ok || d.Len() != 100 {
			t.Fatalf("python %s: item 999 = %T, want a dict of 100", py.Version, items[999])
		}
	}
}
