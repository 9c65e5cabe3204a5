package gen

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"
)

var (
	errorType  = types.Universe.Lookup("error").Type()
	errorIface = errorType.Underlying().(*types.Interface)
)

// proxyBaseMethods are the methods every proxy gets from mgr.ProxyBase; an exposed method
// of the same name would be shadowed by (or shadow) them.
var proxyBaseMethods = []string{"Begin", "BeginMethod", "Close", "Handle", "ObjectID", "String", "Token"}

// builder turns one loaded package into a pkgModel, reporting every unsupported thing.
type builder struct {
	*errorSink
	pkg  *packages.Package
	u    *universe            // the exposed types of every package, this one's included
	docs map[token.Pos]string // doc comment text of each func, by the position of its name

	model *pkgModel                   // nil when the package has no //mgr:expose directive
	dirs  map[*exposedType]*directive // the directive of each exposed type
}

// declarePackage finds the exposed types of p and records them in u, so that every
// package of the run knows them before any signature is checked (a method of one package
// may take a *X of another). build does the rest.
func declarePackage(p *packages.Package, s *errorSink, u *universe) *builder {
	b := &builder{errorSink: s, pkg: p, u: u, docs: map[token.Pos]string{}, dirs: map[*exposedType]*directive{}}
	type found struct {
		spec *ast.TypeSpec
		d    *directive
	}
	var all []found
	for _, f := range p.Syntax {
		for _, decl := range f.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && fd.Doc != nil {
				b.docs[fd.Name.Pos()] = fd.Doc.Text()
			}
			if gd, ok := decl.(*ast.GenDecl); ok && gd.Tok == token.TYPE {
				for _, spec := range gd.Specs {
					ts := spec.(*ast.TypeSpec)
					if doc := ts.Doc; doc != nil || !gd.Lparen.IsValid() {
						if doc == nil {
							doc = gd.Doc // type T struct{...}: the doc comment belongs to the GenDecl
						}
						b.docs[ts.Name.Pos()] = doc.Text()
					}
				}
			}
		}
		for spec, d := range exposeDirectives(f, s) {
			all = append(all, found{spec, d})
		}
	}
	if len(all) == 0 {
		return b
	}
	m := &pkgModel{path: p.PkgPath, name: p.Name}

	for _, f := range all {
		obj, _ := p.Types.Scope().Lookup(f.spec.Name.Name).(*types.TypeName)
		if obj == nil {
			continue // not a package-level type (cannot happen for a top-level spec)
		}
		named, ok := obj.Type().(*types.Named)
		if !ok {
			s.errorf(f.d.pos, "//mgr:expose on %s: an alias cannot be exposed; expose the type it names", obj.Name())
			continue
		}
		if !obj.Exported() {
			s.errorf(f.spec.Name.Pos(), "exposed type %s is not exported: its proxy could not be used from other packages", obj.Name())
		}
		t := &exposedType{
			name:       obj.Name(),
			obj:        obj,
			named:      named,
			tparams:    named.TypeParams(),
			typeID:     p.PkgPath + "." + obj.Name(),
			doc:        b.docs[f.spec.Name.Pos()],
			concurrent: f.d.concurrent,
			inline:     f.d.inline,
			noCreate:   f.d.noCreate,
		}
		if f.d.typeID != "" {
			t.typeID = f.d.typeID
		}
		u.exposed[obj] = t
		b.dirs[t] = f.d
		m.types = append(m.types, t)
	}
	slices.SortFunc(m.types, func(a, b *exposedType) int { return strings.Compare(a.name, b.name) })
	b.model = m
	return b
}

// build checks everything about the package's exposed types (methods, constructors,
// generated names) and returns its model, or nil when the package has no //mgr:expose
// directive.
func (b *builder) build() *pkgModel {
	m := b.model
	if m == nil {
		return nil
	}
	for _, t := range m.types {
		d := b.dirs[t]
		b.methods(t, d)
		b.mayStall(t, d)
		b.getValue(t, d)
		if !t.noCreate {
			b.constructor(t, d)
		}
		b.python(t, d) // python.go
		b.nameCollisions(t)
	}
	b.typeIDCollisions(m.types, b.dirs)
	m.sentinels = sentinels(b.pkg.Types)
	return m
}

// methods fills t.methods from the exported methods declared on t, or the allow-list,
// minus the hidden ones.
func (b *builder) methods(t *exposedType, d *directive) {
	mset := types.NewMethodSet(types.NewPointer(t.named))
	lookup := func(n nameAt, opt string) *types.Func {
		sel := mset.Lookup(t.obj.Pkg(), n.name)
		if sel == nil {
			b.errorf(n.pos, "%s=%s: %s has no method %s", opt, n.name, t.name, n.name)
			return nil
		}
		if !token.IsExported(n.name) {
			b.errorf(n.pos, "%s=%s: method %s is not exported", opt, n.name, n.name)
			return nil
		}
		if n.name == stateMethod && opt == "methods" {
			b.errorf(n.pos, "methods=%s: %s describes the object's state to the manager (mgr.StateReporter) and is never exposed", n.name, n.name)
			return nil
		}
		return sel.Obj().(*types.Func)
	}

	var fns []*types.Func
	if d.hasMethods {
		seen := map[string]bool{}
		for _, n := range d.methods {
			if seen[n.name] {
				b.errorf(n.pos, "methods=: %s listed twice", n.name)
				continue
			}
			seen[n.name] = true
			if fn := lookup(n, "methods"); fn != nil {
				fns = append(fns, fn)
			}
		}
	} else {
		hidden := map[string]bool{}
		for _, n := range d.hide {
			if hidden[n.name] {
				b.errorf(n.pos, "hide=: %s listed twice", n.name)
				continue
			}
			hidden[n.name] = true
			lookup(n, "hide")
		}
		// By default only the methods declared on the type itself: promoted methods of an
		// embedded sync.Mutex, say, are rarely meant to be remote. methods= can name them.
		for i := range t.named.NumMethods() {
			fn := t.named.Method(i)
			if fn.Exported() && !hidden[fn.Name()] && fn.Name() != stateMethod {
				fns = append(fns, fn)
			}
		}
	}
	if len(fns) == 0 {
		b.errorf(d.pos, "%s exposes no methods: give it exported methods, or fix methods=/hide=", t.name)
		return
	}
	slices.SortFunc(fns, func(a, b *types.Func) int { return strings.Compare(a.Name(), b.Name()) })

	proxyNames := b.renames(t, d, fns)
	taken := map[string]string{} // proxy method name -> Go method name
	for _, fn := range fns {
		pname := proxyNames[fn.Name()]
		pos := fn.Pos()
		if pname != fn.Name() {
			pos = d.renameAt(fn.Name())
		}
		if slices.Contains(proxyBaseMethods, pname) && pname != fn.Name() {
			b.errorf(pos, "rename=%s:%s: %s collides with mgr.ProxyBase.%s on the proxy", fn.Name(), pname, pname, pname)
			continue
		}
		if slices.Contains(proxyBaseMethods, pname) {
			b.errorf(pos, "method %s.%s collides with mgr.ProxyBase.%s on the proxy: give the proxy method another name with rename=%s:NewName, or leave it out with hide=%s",
				t.name, pname, pname, fn.Name(), fn.Name())
			continue
		}
		if other, dup := taken[pname]; dup {
			b.errorf(pos, "proxy method %s of %s would stand for both %s and %s", pname, t.name, other, fn.Name())
			continue
		}
		taken[pname] = fn.Name()
		if m := b.method(t, fn); m != nil {
			m.proxy, m.doc = pname, b.docs[fn.Pos()]
			t.methods = append(t.methods, m)
		}
	}
}

// mayStall reports a type that may stall its objects by accident: one with a method
// that takes a context.Context (so it may wait: for an item, an event, a deadline) and
// neither concurrent nor serialized. Without concurrent the manager runs one method of
// an object at a time (TypeDesc.Serialized), so while such a method waits every other
// call of that object waits behind it, until the wait ends or times out. Python runs each
// client's calls on a thread of its own; here the author must say which is meant.
func (b *builder) mayStall(t *exposedType, d *directive) {
	if d.concurrent || d.serialized {
		return
	}
	var waiting []string
	for _, m := range t.methods {
		if m.ctx {
			waiting = append(waiting, m.name)
		}
	}
	if len(waiting) == 0 {
		return
	}
	which := fmt.Sprintf("%s.%s takes", t.name, waiting[0])
	if len(waiting) > 1 {
		which = fmt.Sprintf("%s.%s (and %s) take", t.name, waiting[0], strings.Join(waiting[1:], ", "))
	}
	b.errorf(d.pos, "%s a context.Context, so it may wait, and without concurrent the manager runs one method of %s at a time: "+
		"while it waits, every other call of that object waits behind it. "+
		"Add concurrent to its //mgr:expose line if %s guards its own state (a sync.Mutex), so its methods run side by side, "+
		"or serialized to keep one method at a time knowingly",
		which, article(t.name), t.name)
}

// Names of the generated GetValue: the proxy method, and its entry in the dispatch
// table. The entry's name is not an exported identifier, so it cannot be an exposed
// method's; it sorts after every ASCII upper-case letter, so the table stays in name
// order for ASCII names.
const (
	getValueProxy    = "GetValue"
	getValueDispatch = "_getvalue"
)

// getValue gives t a GetValue, Python's _getvalue(): a copy of the object, made in the
// manager. Only when the copy is the object's whole state and reading it cannot race or
// reveal more than the author exposed:
//   - t is not concurrent (a serialized object is not running another method while it
//     is copied; a concurrent one guards its state with locks the copy cannot take);
//   - neither methods= nor hide= narrows what clients may see;
//   - t is a struct with at least one field, every field exported (the codec carries
//     exported fields only) and of a type carried whole, with no locks, channels, funcs
//     or unexported fields anywhere inside;
//   - t has no method GetValue and no proxy method of that name (the user's wins).
//
// Otherwise the proxy simply has no GetValue: a method of the type's own can return a
// snapshot.
func (b *builder) getValue(t *exposedType, d *directive) {
	if t.concurrent || d.hasMethods || d.hide != nil {
		return
	}
	if sel := types.NewMethodSet(types.NewPointer(t.named)).Lookup(t.obj.Pkg(), getValueProxy); sel != nil {
		return
	}
	for _, m := range t.methods {
		if m.proxy == getValueProxy {
			return
		}
	}
	st, ok := t.named.Underlying().(*types.Struct)
	if !ok || st.NumFields() == 0 {
		return
	}
	for i := range st.NumFields() {
		f := st.Field(i)
		if !f.Exported() || b.unsupported(f.Type(), false, map[types.Type]bool{}) != "" || !b.carriedWhole(f.Type(), map[types.Type]bool{}) {
			return
		}
	}
	self := types.Type(t.named)
	if t.generic() {
		targs := make([]types.Type, t.tparams.Len())
		for i := range targs {
			targs[i] = t.tparams.At(i)
		}
		inst, err := types.Instantiate(nil, t.named, targs, false)
		if err != nil {
			return
		}
		self = inst
	}
	t.getValue = &method{
		name:    getValueDispatch,
		proxy:   getValueProxy,
		copy:    true,
		results: []*value{{typ: self, wire: wire{kind: wireValue}}},
	}
}

// carriedWhole reports whether the codec carries every bit of a value of type t: no
// struct with unexported fields (a sync.Mutex, a time.Location) anywhere inside, no
// pointer to an exposed type (a proxy cannot travel inside a value). unsupported has
// ruled out channels, funcs and other interfaces already.
func (b *builder) carriedWhole(t types.Type, seen map[types.Type]bool) bool {
	t = types.Unalias(t)
	if seen[t] {
		return true
	}
	seen[t] = true
	switch t := t.(type) {
	case *types.Named:
		if isNamed(t, "time", "Time") {
			return true
		}
		for i := range t.TypeArgs().Len() {
			if !b.carriedWhole(t.TypeArgs().At(i), seen) {
				return false
			}
		}
		return b.carriedWhole(t.Underlying(), seen)
	case *types.Pointer:
		if target, _, unready := b.exposedPointer(t); target != nil || unready != nil {
			return false
		}
		return b.carriedWhole(t.Elem(), seen)
	case *types.Slice:
		return b.carriedWhole(t.Elem(), seen)
	case *types.Array:
		return b.carriedWhole(t.Elem(), seen)
	case *types.Map:
		return b.carriedWhole(t.Key(), seen) && b.carriedWhole(t.Elem(), seen)
	case *types.Struct:
		for i := range t.NumFields() {
			if !t.Field(i).Exported() || !b.carriedWhole(t.Field(i).Type(), seen) {
				return false
			}
		}
	}
	return true
}

// renames checks rename= against the exposed methods fns and returns the proxy name of
// every one of them.
func (b *builder) renames(t *exposedType, d *directive, fns []*types.Func) map[string]string {
	names := map[string]string{}
	for _, fn := range fns {
		names[fn.Name()] = fn.Name()
	}
	seen := map[string]bool{}
	for _, r := range d.renames {
		switch {
		case names[r.from.name] == "":
			b.errorf(r.from.pos, "rename=%s:%s: %s is not an exposed method of %s", r.from.name, r.to.name, r.from.name, t.name)
		case seen[r.from.name]:
			b.errorf(r.from.pos, "rename=: %s renamed twice", r.from.name)
		case !token.IsExported(r.to.name):
			b.errorf(r.to.pos, "rename=%s:%s: the proxy method must be exported", r.from.name, r.to.name)
		default:
			names[r.from.name] = r.to.name
		}
		seen[r.from.name] = true
	}
	return names
}

// method checks one exposed method's signature.
func (b *builder) method(t *exposedType, fn *types.Func) *method {
	sig := fn.Type().(*types.Signature)
	what := t.name + "." + fn.Name()
	m := &method{name: fn.Name(), fn: fn, sig: sig, variadic: sig.Variadic()}
	ok := true
	m.ctx, m.params, ok = b.params(sig, what, fn.Pos())
	results, err, rok := b.results(sig, what, fn.Pos())
	m.results, m.err = results, err
	if !ok || !rok {
		return nil
	}
	return m
}

// params classifies the parameters of sig; a leading context.Context is reported apart.
func (b *builder) params(sig *types.Signature, what string, pos token.Pos) (ctx bool, vals []*value, ok bool) {
	ok = true
	for i := range sig.Params().Len() {
		v := sig.Params().At(i)
		typ := v.Type()
		if isContext(typ) {
			if i == 0 {
				ctx = true
				continue
			}
			b.errorf(posOr(v.Pos(), pos), "%s: context.Context must be the first parameter", what)
			ok = false
			continue
		}
		desc := fmt.Sprintf("parameter %s of %s", nameOr(v.Name(), i), what)
		if sig.Variadic() && i == sig.Params().Len()-1 {
			desc = fmt.Sprintf("variadic parameter %s of %s", nameOr(v.Name(), i), what)
		}
		w, wok := b.classify(typ, posOr(v.Pos(), pos), desc)
		ok = ok && wok
		vals = append(vals, &value{name: v.Name(), typ: typ, pos: v.Pos(), wire: w})
	}
	return ctx, vals, ok
}

// results classifies the results of sig; a trailing error is reported apart.
func (b *builder) results(sig *types.Signature, what string, pos token.Pos) (vals []*value, err bool, ok bool) {
	ok = true
	n := sig.Results().Len()
	for i := range n {
		v := sig.Results().At(i)
		typ := v.Type()
		if i == n-1 && types.Identical(typ, errorType) {
			err = true
			continue
		}
		if isContext(typ) {
			b.errorf(posOr(v.Pos(), pos), "%s: a context.Context cannot be returned", what)
			ok = false
			continue
		}
		w, wok := b.classify(typ, posOr(v.Pos(), pos), fmt.Sprintf("result %d of %s", i, what))
		ok = ok && wok
		vals = append(vals, &value{name: v.Name(), typ: typ, pos: v.Pos(), wire: w})
	}
	return vals, err, ok
}

// classify picks the wire form of a parameter or result of type t, or reports why t
// cannot cross a process boundary.
func (b *builder) classify(t types.Type, pos token.Pos, desc string) (wire, bool) {
	target, targs, unready := b.exposedPointer(t)
	if target != nil {
		return wire{kind: wireProxy, target: target, targs: targs}, true
	}
	if unready != nil {
		b.errorf(pos, "%s has type %s: %s is marked //mgr:expose, but package %s has no generated %sProxy (its %s is missing or stale); it belongs to another module, whose go generate must write it",
			desc, typeString(t, b.pkg.Types), qualName(unready, b.pkg.Types), unready.Pkg().Path(), unready.Name(), OutputName)
		return wire{}, false
	}
	if why := b.unsupported(t, true, map[types.Type]bool{}); why != "" {
		b.errorf(pos, "%s has type %s: %s", desc, typeString(t, b.pkg.Types), why)
		return wire{}, false
	}
	if isNamed(t, "time", "Time") {
		return wire{kind: wireTime}, true
	}
	if isNamed(t, "time", "Duration") {
		return wire{kind: wireDuration}, true
	}
	if types.Identical(t, errorType) {
		return wire{kind: wireError}, true
	}
	if _, isTP := t.(*types.TypeParam); isTP {
		return wire{kind: wireValue}, true
	}
	switch u := t.Underlying().(type) {
	case *types.Basic:
		return basicWire(u), true
	case *types.Slice:
		if e, ok := types.Unalias(u.Elem()).(*types.Basic); ok && e.Kind() == types.Byte {
			return wire{kind: wireBytes, basic: e}, true
		}
	}
	return wire{kind: wireValue}, true
}

// basicWire maps a basic type to the Encoder/Decoder methods that carry it.
func basicWire(u *types.Basic) wire {
	w := wire{basic: u}
	switch u.Kind() {
	case types.Bool:
		w.kind = wireBool
	case types.Int, types.Int8, types.Int16, types.Int32, types.Int64:
		w.kind, w.bits = wireInt, basicBits[u.Kind()]
	case types.Uint, types.Uint8, types.Uint16, types.Uint32, types.Uint64, types.Uintptr:
		w.kind, w.bits = wireUint, basicBits[u.Kind()]
	case types.Float64:
		w.kind = wireFloat64
	case types.Float32:
		w.kind = wireFloat32
	case types.Complex64, types.Complex128:
		w.kind = wireComplex
	case types.String:
		w.kind = wireString
	default:
		w.kind = wireValue // unreachable: unsupported rejects the rest
	}
	return w
}

var basicBits = map[types.BasicKind]int{
	types.Int8: 8, types.Int16: 16, types.Int32: 32, types.Int64: 64,
	types.Uint8: 8, types.Uint16: 16, types.Uint32: 32, types.Uint64: 64,
}

// exposedPointer reports whether t is *X for an exposed type X, of this package or
// another (see universe), and returns X and its type arguments. When X is marked
// //mgr:expose in a dependency of another module that has no generated proxy for it, it
// returns X's declaration as unready instead.
func (b *builder) exposedPointer(t types.Type) (target *exposedType, targs []types.Type, unready *types.TypeName) {
	ptr, ok := types.Unalias(t).(*types.Pointer)
	if !ok {
		return nil, nil, nil
	}
	named, ok := types.Unalias(ptr.Elem()).(*types.Named)
	if !ok {
		return nil, nil, nil
	}
	info := b.u.lookup(named.Origin().Obj(), b.pkg.Types, b.pkg.Fset, dirOf(b.pkg.GoFiles[0]))
	if info.unready {
		return nil, nil, named.Origin().Obj()
	}
	if info.target == nil {
		return nil, nil, nil
	}
	for i := range named.TypeArgs().Len() {
		targs = append(targs, named.TypeArgs().At(i))
	}
	return info.target, targs, nil
}

// unsupported returns why values of type t cannot be carried, or "". top is true for the
// parameter or result type itself (where a pointer to an exposed type is a proxy and a
// literal struct type is spelled out in the proxy). seen stops recursive types.
func (b *builder) unsupported(t types.Type, top bool, seen map[types.Type]bool) string {
	t = types.Unalias(t)
	if seen[t] {
		return ""
	}
	seen[t] = true
	switch t := t.(type) {
	case *types.Basic:
		switch {
		case t.Kind() == types.Invalid:
			return "the type does not compile; fix the compile error first"
		case t.Kind() == types.UnsafePointer:
			return "unsafe.Pointer cannot cross a process boundary"
		}
		return ""
	case *types.TypeParam:
		return "" // the instantiation is carried by the reflection codec
	case *types.Named:
		obj := t.Obj()
		if obj.Pkg() == nil {
			return "" // error
		}
		if !obj.Exported() {
			return fmt.Sprintf("unexported type %s: callers outside package %s could not use the proxy", obj.Name(), obj.Pkg().Name())
		}
		if isNamed(t, "time", "Time") {
			return ""
		}
		if isContext(t) {
			return "context.Context is only allowed as the first parameter"
		}
		if iface, ok := t.Underlying().(*types.Interface); ok {
			if iface.Empty() {
				return ""
			}
			return "interface types other than error and any cannot be carried: the receiving side could not know which concrete type to build"
		}
		for i := range t.TypeArgs().Len() {
			if why := b.unsupported(t.TypeArgs().At(i), false, seen); why != "" {
				return why
			}
		}
		return b.unsupported(t.Underlying(), false, seen)
	case *types.Pointer:
		if !top {
			if target, _, unready := b.exposedPointer(t); target != nil || unready != nil {
				decl := unready
				if target != nil {
					decl = target.obj
				}
				return fmt.Sprintf("*%s is an exposed type: it travels as a proxy only as a parameter or result by itself, not inside another value", qualName(decl, b.pkg.Types))
			}
		}
		return b.unsupported(t.Elem(), false, seen)
	case *types.Slice:
		return b.unsupported(t.Elem(), false, seen)
	case *types.Array:
		return b.unsupported(t.Elem(), false, seen)
	case *types.Map:
		if why := b.unsupported(t.Key(), false, seen); why != "" {
			return why
		}
		return b.unsupported(t.Elem(), false, seen)
	case *types.Struct:
		for i := range t.NumFields() {
			f := t.Field(i)
			if top && t.Tag(i) != "" {
				return "a struct type literal with field tags cannot be spelled out in the proxy; declare a named type"
			}
			if !f.Exported() {
				if top {
					return fmt.Sprintf("unexported field %s in a struct type literal", f.Name())
				}
				continue // the codec carries exported fields only, as encoding/json does
			}
			if why := b.unsupported(f.Type(), false, seen); why != "" {
				return fmt.Sprintf("field %s: %s", f.Name(), why)
			}
		}
		return ""
	case *types.Interface:
		if t.Empty() {
			return ""
		}
		return "interface types other than error and any cannot be carried: the receiving side could not know which concrete type to build"
	case *types.Chan:
		return "channels cannot cross a process boundary"
	case *types.Signature:
		return "funcs cannot cross a process boundary"
	}
	return fmt.Sprintf("unsupported type %s", t)
}

// constructor finds the type's constructor: constructor=Name, else NewT if it exists,
// else none (new(T)). It checks the constructor's signature.
func (b *builder) constructor(t *exposedType, d *directive) {
	scope := b.pkg.Types.Scope()
	name, pos, explicit := d.constructor, d.constructorPos, d.constructor != ""
	if !explicit {
		name = "New" + t.name
	}
	obj := scope.Lookup(name)
	if obj == nil {
		if explicit {
			b.errorf(pos, "constructor=%s: no function %s in package %s", name, name, b.pkg.Name)
		}
		return
	}
	fn, ok := obj.(*types.Func)
	if !ok {
		if explicit {
			b.errorf(pos, "constructor=%s: %s is not a function", name, name)
		}
		return
	}
	hint := ""
	if !explicit {
		hint = fmt.Sprintf(" (it is %s's constructor by name; name another with constructor=, or use nocreate)", t.name)
	}
	sig := fn.Type().(*types.Signature)
	at := fn.Pos()
	if !b.returnsSelf(t, sig) {
		b.errorf(at, "constructor %s must return *%s or (*%s, error)%s", name, t.typeString(), t.typeString(), hint)
		return
	}
	ctx, params, ok := b.params(sig, "constructor "+name, at)
	if !ok {
		return
	}
	t.ctor, t.ctorCtx, t.ctorParams, t.ctorErr, t.ctorVariadic = fn, ctx, params, sig.Results().Len() == 2, sig.Variadic()
}

// returnsSelf reports whether sig returns *T or (*T, error), where for a generic T the
// type arguments must be the function's own type parameters in order (func NewBox[T
// any]() *Box[T]).
func (b *builder) returnsSelf(t *exposedType, sig *types.Signature) bool {
	res := sig.Results()
	if res.Len() == 0 || res.Len() > 2 || (res.Len() == 2 && !types.Identical(res.At(1).Type(), errorType)) {
		return false
	}
	ptr, ok := types.Unalias(res.At(0).Type()).(*types.Pointer)
	if !ok {
		return false
	}
	named, ok := types.Unalias(ptr.Elem()).(*types.Named)
	if !ok || named.Origin() != t.named {
		return false
	}
	n := t.tparams.Len()
	if sig.TypeParams().Len() != n || named.TypeArgs().Len() != n {
		return false
	}
	for i := range n {
		tp, ok := named.TypeArgs().At(i).(*types.TypeParam)
		if !ok || tp.Obj() != sig.TypeParams().At(i).Obj() {
			return false
		}
	}
	return true
}

// typeString spells the type as the user wrote it: Counter, or Box[T].
func (t *exposedType) typeString() string {
	if !t.generic() {
		return t.name
	}
	var names []string
	for i := range t.tparams.Len() {
		names = append(names, t.tparams.At(i).Obj().Name())
	}
	return t.name + "[" + strings.Join(names, ", ") + "]"
}

// generatedNames are the package-level names the output declares for t.
func (t *exposedType) generatedNames() []string {
	names := []string{t.name + "Proxy", t.name + "TypeID", "Attach" + t.name, "Lookup" + t.name, guardName(t)}
	if !t.noCreate {
		names = append(names, "Create"+t.name, "Create"+t.name+"Pipelined")
	}
	if t.generic() {
		names = append(names, "Register"+t.name)
	}
	return names
}

// nameCollisions reports generated names the package already declares.
func (b *builder) nameCollisions(t *exposedType) {
	for _, n := range t.generatedNames() {
		if obj := b.pkg.Types.Scope().Lookup(n); obj != nil {
			b.errorf(obj.Pos(), "%s is declared here and generated for exposed type %s: rename it", n, t.name)
		}
	}
}

// typeIDCollisions reports two exposed types with the same TypeID (typeid= can make it).
func (b *builder) typeIDCollisions(ts []*exposedType, dirs map[*exposedType]*directive) {
	seen := map[string]*exposedType{}
	for _, t := range ts {
		if prev := seen[t.typeID]; prev != nil {
			pos := dirs[t].typeIDPos
			if !pos.IsValid() {
				pos = dirs[t].pos
			}
			b.errorf(pos, "TypeID %q of %s is also the TypeID of %s", t.typeID, t.name, prev.name)
			continue
		}
		seen[t.typeID] = t
	}
}

// sentinels returns the package's exported error variables named Err*, sorted: the
// generated init registers them so errors.Is keeps working across processes.
func sentinels(pkg *types.Package) []string {
	var names []string
	for _, name := range pkg.Scope().Names() { // sorted
		v, ok := pkg.Scope().Lookup(name).(*types.Var)
		if ok && v.Exported() && strings.HasPrefix(name, "Err") && types.Implements(v.Type(), errorIface) {
			names = append(names, name)
		}
	}
	return names
}

func isContext(t types.Type) bool { return isNamed(t, "context", "Context") }

// isNamed reports whether t is the named type path.name.
func isNamed(t types.Type, path, name string) bool {
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == path && n.Obj().Name() == name
}

// typeString prints t with package names, relative to the package being generated.
func typeString(t types.Type, from *types.Package) string {
	return types.TypeString(t, func(p *types.Package) string {
		if p == from {
			return ""
		}
		return p.Name()
	})
}

func nameOr(name string, i int) string {
	if name == "" || name == "_" {
		return fmt.Sprintf("#%d", i)
	}
	return name
}

func posOr(p, fallback token.Pos) token.Pos {
	if p.IsValid() {
		return p
	}
	return fallback
}

func guardName(t *exposedType) string { return "_mgrgenRerunGoGenerate_" + t.name }

// stateMethod is the method of mgr.StateReporter: the manager calls it to describe an
// object's live state (Client.Info), so it is left out of the exposed methods.
const stateMethod = "MgrState"
