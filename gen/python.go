package gen

import (
	"go/token"
	"go/types"
)

// python checks the python= and pyname= options: the type must be one Go type (not
// generic), its constructor must take no parameters (Python's create passes them
// untyped), and every exposed method must take and return only values a Python value
// converts to — Go's integer and float types, string, bool and []byte — which is what
// the runtime's bridge (mgr.NewPyType) converts.
func (b *builder) python(t *exposedType, d *directive) {
	if d.python == "" {
		for _, r := range d.pyNames {
			b.errorf(r.from.pos, "pyname= needs python=TYPEID: the type is not served to Python")
			break
		}
		return
	}
	if !token.IsIdentifier(d.python) {
		b.errorf(d.pythonPos, "python=%s: a Python typeid must be an identifier (BaseManager.register makes it a method name)", d.python)
		return
	}
	if t.generic() {
		b.errorf(d.pythonPos, "python=%s: %s is generic; register one instantiation for Python clients with mgr.NewPyType instead", d.python, t.name)
		return
	}
	if t.ctor != nil && len(t.ctorParams) > 0 {
		b.errorf(d.pythonPos, "python=%s: constructor %s takes parameters, which a Python create cannot pass typed; use a constructor without parameters, or nocreate and a shared object (Server.SharePython)", d.python, t.ctor.Name())
	}
	t.python = d.python
	exposed := map[string]*method{}
	for _, m := range t.methods {
		exposed[m.name] = m
	}
	for _, r := range d.pyNames {
		if exposed[r.from.name] == nil {
			b.errorf(r.from.pos, "pyname=%s:%s: %s is not an exposed method of %s", r.from.name, r.to.name, r.from.name, t.name)
			continue
		}
		if t.pyNames == nil {
			t.pyNames = map[string]string{}
		}
		t.pyNames[r.from.name] = r.to.name
	}
	// The generated Python module (pymodule.go) defines a method per name: a keyword
	// cannot name one, and two Go methods cannot share one.
	pyNamed := map[string]string{}
	for _, m := range t.methods {
		name := t.pyName(m)
		switch {
		case pyKeywords[name]:
			b.errorf(m.fn.Pos(), "python=%s: method %s: its Python name %s is a Python keyword; give it another with pyname=%s:%s_", d.python, m.name, name, m.name, name)
		case pyNamed[name] != "":
			b.errorf(m.fn.Pos(), "python=%s: methods %s and %s have the same Python name %s; give one another with pyname=", d.python, pyNamed[name], m.name, name)
		default:
			pyNamed[name] = m.name
		}
	}
	for _, m := range t.methods {
		if m.variadic {
			b.errorf(m.fn.Pos(), "python=%s: method %s is variadic, which CPython's proxies cannot call", d.python, m.name)
			continue
		}
		for _, v := range append(append([]*value{}, m.params...), m.results...) {
			if !pyConvertible(v.typ) {
				b.errorf(m.fn.Pos(), "python=%s: method %s: %s has no Python form (Python clients pass int, float, str, bool and bytes: Go's integer and float types, string, bool, []byte)", d.python, m.name, types.TypeString(v.typ, func(p *types.Package) string { return p.Name() }))
				break
			}
		}
	}
}

// pyConvertible reports whether t is one of the types the runtime's Python bridge
// converts (unnamed: a named type's Sig spells its name, which the bridge does not know).
func pyConvertible(t types.Type) bool {
	switch u := types.Unalias(t).(type) {
	case *types.Basic:
		switch u.Kind() {
		case types.Int, types.Int8, types.Int16, types.Int32, types.Int64,
			types.Uint, types.Uint8, types.Uint16, types.Uint32, types.Uint64,
			types.Float32, types.Float64, types.String, types.Bool:
			return true
		}
	case *types.Slice:
		b, ok := types.Unalias(u.Elem()).(*types.Basic)
		return ok && b.Kind() == types.Byte
	}
	return false
}
