package pickle

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxRepr bounds what this package's messages spell out of a value (Exception.Error,
// Tuple.String).
const maxRepr = 64 << 10

// Repr returns Python's repr of a decoded value — None, True, ints, floats as CPython
// writes them, quoted and escaped str and bytes, lists, tuples, dicts, exceptions — cut
// at limit bytes and then ended with "...". The bound matters: a value whose parts are
// shared (a list holding one list twice, nested 40 deep) is a few hundred bytes of
// pickle and 2^40 lists spelled out. Other values are written with fmt.
func Repr(v any, limit int) string {
	w := reprWriter{limit: limit}
	w.value(v)
	return w.String()
}

// repr is Repr within maxRepr, for messages.
func repr(v any) string { return Repr(v, maxRepr) }

// reprWriter writes a repr until it holds limit bytes, then stops walking.
type reprWriter struct {
	b     strings.Builder
	limit int
	full  bool
}

// String returns what was written, with "..." when it was cut.
func (w *reprWriter) String() string {
	if w.full {
		return w.b.String() + "..."
	}
	return w.b.String()
}

func (w *reprWriter) str(s string) {
	if w.full {
		return
	}
	if w.b.Len()+len(s) > w.limit {
		w.b.WriteString(s[:max(0, w.limit-w.b.Len())])
		w.full = true
		return
	}
	w.b.WriteString(s)
}

// seq writes items between open and close, separated by commas; one item gets a
// trailing comma when oneComma is set (a 1-tuple).
func (w *reprWriter) seq(open string, items []any, close string, oneComma bool) {
	w.str(open)
	for i, a := range items {
		if w.full {
			return
		}
		if i > 0 {
			w.str(", ")
		}
		w.value(a)
	}
	if oneComma && len(items) == 1 {
		w.str(",")
	}
	w.str(close)
}

func (w *reprWriter) value(v any) {
	if w.full {
		return
	}
	switch x := v.(type) {
	case nil:
		w.str("None")
	case bool:
		if x {
			w.str("True")
		} else {
			w.str("False")
		}
	case int64:
		w.str(strconv.FormatInt(x, 10))
	case BigInt:
		w.str(x.String())
	case float64:
		w.str(floatRepr(x))
	case string:
		w.str(quoted(x, false))
	case Bytes:
		w.str(quoted(string(x), true))
	case []any:
		w.seq("[", x, "]", false)
	case Tuple:
		e, err := x.Elems()
		if err != nil {
			w.str("(<" + err.Error() + ">)")
			return
		}
		w.seq("(", e, ")", true)
	case *Exception:
		w.seq(x.Name+"(", x.Args, ")", false)
	case *Dict:
		w.str("{")
		i := 0
		for k, e := range x.All() {
			if w.full {
				return
			}
			if i > 0 {
				w.str(", ")
			}
			i++
			w.value(k)
			w.str(": ")
			w.value(e)
		}
		w.str("}")
	default:
		w.str(fmt.Sprint(v))
	}
}

// quoted is Python's repr of a str (or, isBytes, of bytes): single quotes unless it
// holds a single quote and no double one; backslashes, the quote and control
// characters escaped, and for bytes every byte outside printable ASCII as \xNN.
func quoted(s string, isBytes bool) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	if isBytes {
		b.WriteByte('b')
	}
	b.WriteByte(q)
	for i, n := 0, 0; i < len(s); i += n {
		r, n0 := rune(s[i]), 1
		if !isBytes && r >= utf8.RuneSelf {
			r, n0 = utf8.DecodeRuneInString(s[i:])
		}
		n = n0
		switch {
		case r == '\\' || r == rune(q):
			b.WriteByte('\\')
			b.WriteByte(byte(r))
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || (isBytes && r >= 0x80):
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
	}
	b.WriteByte(q)
	return b.String()
}

// floatRepr is Python's repr of a float: the shortest digits that read back, positional
// for exponents from -4 to 15 and scientific (1e+16, 1e-05) otherwise.
func floatRepr(x float64) string {
	switch {
	case math.IsNaN(x):
		return "nan"
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	}
	e := strconv.FormatFloat(x, 'e', -1, 64)
	if exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:]); exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
