package pickle

import (
	"testing"

	"github.com/mgr-go/mgr/internal/pythons"
)

// An ordinary message that shares one value many times through the memo — a reply
// ('#RETURN', [cfg]*40000) with a 1.7 KB dict cfg, 80 KB of pickle — must decode, and
// without expanding: the tuple holds a list, so it holds it by reference (nothing is
// spelled out even with MaxExpand at the input's size).
func TestSharedValueMessagesDecode(t *testing.T) {
	for _, py := range pythons.ForTest(t) {
		cmd := py.Command("-c", `import pickle, sys
cfg = {('k%d' % i): 'v' * 10 for i in range(100)}
sys.stdout.buffer.write(pickle.dumps(('#RETURN', [cfg] * 40000), 4))`)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("python %s: %v", py.Version, err)
		}
		v, err := Options{Limits: Limits{MaxExpand: len(out)}}.Decode(out)
		if err != nil {
			t.Fatalf("python %s: decoding a %d-byte reply holding one dict 40000 times: %v", py.Version, len(out), err)
		}
		elems, err := v.(Tuple).Elems()
		if err != nil {
			t.Fatal(err)
		}
		items := elems[1].([]any)
		if len(items) != 40000 {
			t.Fatalf("python %s: %d items, want 40000", py.Version, len(items))
		}
		if d, ok := items[39999].(*Dict); !ok || d.Len() != 100 || items[0] != d {
			t.Fatalf("python %s: item 39999 = %T, want the one dict of 100", py.Version, items[39999])
		}
	}
}
