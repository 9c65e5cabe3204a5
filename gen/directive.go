package gen

import (
	"fmt"
	"go/ast"
	"go/token"
	"strings"
)

// directivePrefix starts every mgr directive; exposeDirective is the only one so far.
const (
	directivePrefix = "//mgr:"
	exposeDirective = "//mgr:expose"
)

// directive is one parsed //mgr:expose comment and its options.
type directive struct {
	pos token.Pos // of the comment

	typeID    string
	typeIDPos token.Pos

	constructor    string
	constructorPos token.Pos
	noCreate       bool
	noCreatePos    token.Pos

	methods []nameAt // allow-list; nil when the option is absent
	hide    []nameAt
	// hasMethods tells "methods=" absent from present (an empty list is rejected).
	hasMethods bool

	renames []rename

	// python is the Python typeid CPython clients create the type by (python=); pyNames
	// override the snake_case Python names of methods (pyname=Method:py_name).
	python    string
	pythonPos token.Pos
	pyNames   []rename

	concurrent    bool
	concurrentPos token.Pos
	serialized    bool // one method at a time, chosen explicitly (the default without concurrent)
	serializedPos token.Pos
	inline        bool
}

// rename is one Method:ProxyName pair of the rename= option.
type rename struct {
	from, to nameAt
}

// nameAt is a method or function name written in a directive, with its position.
type nameAt struct {
	name string
	pos  token.Pos
}

// option describes one //mgr:expose option: whether it takes a value, and how to store it.
type option struct {
	value bool
	set   func(d *directive, val string, valPos token.Pos, s *errorSink)
}

// options is the //mgr:expose grammar, dispatched through a table so the documentation,
// the parser and the "known options" hint cannot drift apart.
var options = map[string]option{
	"typeid": {value: true, set: func(d *directive, val string, pos token.Pos, s *errorSink) {
		d.typeID, d.typeIDPos = val, pos
	}},
	"constructor": {value: true, set: func(d *directive, val string, pos token.Pos, s *errorSink) {
		if !token.IsIdentifier(val) {
			s.errorf(pos, "constructor=%s: not a function name", val)
			return
		}
		d.constructor, d.constructorPos = val, pos
	}},
	"nocreate": {set: func(d *directive, _ string, pos token.Pos, _ *errorSink) {
		d.noCreate, d.noCreatePos = true, pos
	}},
	"methods": {value: true, set: func(d *directive, val string, pos token.Pos, s *errorSink) {
		d.methods, d.hasMethods = nameList(val, pos, s), true
	}},
	"hide": {value: true, set: func(d *directive, val string, pos token.Pos, s *errorSink) {
		d.hide = nameList(val, pos, s)
	}},
	"rename": {value: true, set: func(d *directive, val string, pos token.Pos, s *errorSink) {
		d.renames = renameList(val, pos, s)
	}},
	"python": {value: true, set: func(d *directive, val string, pos token.Pos, s *errorSink) {
		d.python, d.pythonPos = val, pos
	}},
	"pyname": {value: true, set: func(d *directive, val string, pos token.Pos, s *errorSink) {
		d.pyNames = pairList("pyname", val, pos, s)
	}},
	"concurrent": {set: func(d *directive, _ string, pos token.Pos, _ *errorSink) {
		d.concurrent, d.concurrentPos = true, pos
	}},
	"serialized": {set: func(d *directive, _ string, pos token.Pos, _ *errorSink) {
		d.serialized, d.serializedPos = true, pos
	}},
	"inline": {set: func(d *directive, _ string, _ token.Pos, _ *errorSink) {
		d.inline = true
	}},
}

// optionList is the hint printed after an unknown option.
const optionList = "typeid=NAME, constructor=Func, nocreate, methods=A,B, hide=A,B, rename=A:B, python=TYPEID, pyname=A:a, concurrent, serialized, inline"

// nameList splits "A,B" into names with their positions.
func nameList(val string, pos token.Pos, s *errorSink) []nameAt {
	var names []nameAt
	off := 0
	for part := range strings.SplitSeq(val, ",") {
		p := pos + token.Pos(off)
		off += len(part) + 1
		if !token.IsIdentifier(part) {
			s.errorf(p, "%q is not a method name", part)
			continue
		}
		names = append(names, nameAt{part, p})
	}
	return names
}

// renameList splits "A:B,C:D" into pairs with their positions.
func renameList(val string, pos token.Pos, s *errorSink) []rename {
	return pairList("rename", val, pos, s)
}

// pairList splits the value of option opt, "A:B,C:D", into pairs with their positions.
func pairList(opt, val string, pos token.Pos, s *errorSink) []rename {
	var out []rename
	off := 0
	for part := range strings.SplitSeq(val, ",") {
		p := pos + token.Pos(off)
		off += len(part) + 1
		from, to, ok := strings.Cut(part, ":")
		if !ok || !token.IsIdentifier(from) || !token.IsIdentifier(to) {
			s.errorf(p, "%s=%s: want %s", opt, part, map[string]string{"rename": "Method:ProxyMethod", "pyname": "Method:python_name"}[opt])
			continue
		}
		out = append(out, rename{nameAt{from, p}, nameAt{to, p + token.Pos(len(from)+1)}})
	}
	return out
}

// parseDirective parses the //mgr:expose comment c. It reports problems to s and
// returns what it could make of the options.
func parseDirective(c *ast.Comment, s *errorSink) *directive {
	d := &directive{pos: c.Slash}
	rest := c.Text[len(exposeDirective):]
	seen := map[string]bool{}
	off := len(exposeDirective)
	for _, field := range fieldsWithOffsets(rest) {
		pos := c.Slash + token.Pos(off+field.off)
		key, val, hasVal := strings.Cut(field.text, "=")
		opt, ok := options[key]
		switch {
		case !ok:
			s.errorf(pos, "unknown option %q in //mgr:expose (known: %s)", key, optionList)
			continue
		case seen[key]:
			s.errorf(pos, "option %s given twice", key)
			continue
		case opt.value && (!hasVal || val == ""):
			s.errorf(pos, "option %s needs a value: %s=...", key, key)
			continue
		case !opt.value && hasVal:
			s.errorf(pos, "option %s takes no value", key)
			continue
		}
		seen[key] = true
		valPos := pos // a flag's errors point at the flag, a value's at the value
		if opt.value {
			valPos += token.Pos(len(key) + 1)
		}
		opt.set(d, val, valPos, s)
	}
	if d.hasMethods && d.hide != nil {
		s.errorf(d.pos, "use methods= or hide=, not both")
	}
	if d.noCreate && d.constructor != "" {
		s.errorf(d.noCreatePos, "nocreate and constructor= contradict each other")
	}
	if d.concurrent && d.serialized {
		s.errorf(d.serializedPos, "concurrent and serialized contradict each other: concurrent runs several methods of an object at once, serialized one at a time")
	}
	return d
}

type field struct {
	text string
	off  int
}

// fieldsWithOffsets splits s at spaces and tabs, keeping each field's byte offset.
func fieldsWithOffsets(s string) []field {
	var out []field
	start := -1
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' || s[i] == '\t' {
			if start >= 0 {
				out = append(out, field{s[start:i], start})
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	return out
}

// directiveKind classifies a comment: not ours, //mgr:expose, or an unknown //mgr: one.
func directiveKind(c *ast.Comment) (isMgr, isExpose bool) {
	if !strings.HasPrefix(c.Text, directivePrefix) {
		return false, false
	}
	rest, ok := strings.CutPrefix(c.Text, exposeDirective)
	isExpose = ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t')
	return true, isExpose
}

// nearMiss reports a comment that was almost certainly meant as //mgr:expose but is not
// one: "// mgr:expose" (a space after //, the habit of ordinary comments), "//mgr: expose"
// (a space after the colon) or "//mgr:Expose" (another case), and their combinations.
// Each of them would otherwise leave the type silently unexposed, or be reported as an
// unknown directive without saying what is wrong. It returns the message, or "".
//
// Only the word expose, in any case, after "mgr" and a colon counts: prose that merely
// starts with "mgr:" is left alone.
func nearMiss(c *ast.Comment) string {
	s, ok := strings.CutPrefix(c.Text, "//")
	if !ok {
		return "" // a /* */ comment is never a directive
	}
	var wrong []string
	if t := strings.TrimLeft(s, " \t"); t != s {
		wrong, s = append(wrong, "no space after //"), t
	}
	s, ok = strings.CutPrefix(s, "mgr")
	if !ok {
		return ""
	}
	if t := strings.TrimLeft(s, " \t"); t != s {
		wrong, s = append(wrong, "no space before the colon"), t
	}
	if s, ok = strings.CutPrefix(s, ":"); !ok {
		return ""
	}
	if t := strings.TrimLeft(s, " \t"); t != s {
		wrong, s = append(wrong, "no space after the colon"), t
	}
	word, _, _ := strings.Cut(strings.ReplaceAll(s, "\t", " "), " ")
	if !strings.EqualFold(word, "expose") {
		return ""
	}
	if word != "expose" {
		wrong = append(wrong, "lower case")
	}
	if len(wrong) == 0 {
		return ""
	}
	written := c.Text[:len(c.Text)-len(s)+len(word)]
	return fmt.Sprintf("%q is not a directive, so it exposes nothing: write %s (%s)", written, exposeDirective, strings.Join(wrong, ", "))
}

// exposeDirectives finds the //mgr:expose directives of file, keyed by the type spec whose
// doc comment holds them. Directives anywhere else, unknown //mgr: directives and
// directives on non-struct types are reported to s.
func exposeDirectives(file *ast.File, s *errorSink) map[*ast.TypeSpec]*directive {
	found := map[*ast.TypeSpec]*directive{}
	placed := map[*ast.Comment]bool{}

	// attach parses the directives in doc as belonging to spec.
	attach := func(doc *ast.CommentGroup, spec *ast.TypeSpec) {
		if doc == nil {
			return
		}
		for _, c := range doc.List {
			isMgr, isExpose := directiveKind(c)
			if !isMgr || !isExpose {
				continue
			}
			placed[c] = true
			if _, ok := spec.Type.(*ast.StructType); !ok {
				s.errorf(c.Slash, "//mgr:expose on %s: only struct types can be exposed", spec.Name.Name)
				continue
			}
			if prev := found[spec]; prev != nil {
				s.errorf(c.Slash, "second //mgr:expose on %s: put all options on one line", spec.Name.Name)
				continue
			}
			found[spec] = parseDirective(c, s)
		}
	}

	for _, decl := range file.Decls {
		switch decl := decl.(type) {
		case *ast.GenDecl:
			if decl.Tok != token.TYPE {
				continue
			}
			if !decl.Lparen.IsValid() {
				// type T struct{...}: the doc comment belongs to the GenDecl.
				attach(decl.Doc, decl.Specs[0].(*ast.TypeSpec))
				continue
			}
			for _, spec := range decl.Specs {
				attach(spec.(*ast.TypeSpec).Doc, spec.(*ast.TypeSpec))
			}
		case *ast.FuncDecl:
			if decl.Doc == nil {
				continue
			}
			for _, c := range decl.Doc.List {
				if _, isExpose := directiveKind(c); isExpose {
					placed[c] = true
					s.errorf(c.Slash, "//mgr:expose on func %s: it belongs in the doc comment of a struct type", decl.Name.Name)
				}
			}
		}
	}

	for _, g := range file.Comments {
		for _, c := range g.List {
			if msg := nearMiss(c); msg != "" {
				s.errorf(c.Slash, "%s", msg)
				continue
			}
			isMgr, isExpose := directiveKind(c)
			switch {
			case !isMgr || placed[c]:
			case !isExpose:
				name, _, _ := strings.Cut(c.Text, " ")
				s.errorf(c.Slash, "unknown directive %s (mgrgen knows %s)", name, exposeDirective)
			default:
				s.errorf(c.Slash, "misplaced //mgr:expose: it belongs in the doc comment of a struct type declaration")
			}
		}
	}
	return found
}

// renameAt returns the position of the rename= pair for method, or of the directive.
func (d *directive) renameAt(method string) token.Pos {
	for _, r := range d.renames {
		if r.from.name == method {
			return r.to.pos
		}
	}
	return d.pos
}
