package gen

import (
	"bytes"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"os"
)

// universe is what the packages of one run know about exposed types beyond their own:
// a parameter *other.X travels as a proxy when X is exposed, wherever it is declared.
//
// Two sources answer "is X exposed?":
//
//   - X's package is being generated in this run: its directives say so. Such a package
//     was type-checked from source with its previous output read as a package clause, so
//     its XProxy is not in its scope; it will be once this run writes the output.
//   - X's package is a dependency: go/packages gave its types from export data, compiled
//     from the package as it is on disk, mgr_gen.go included. X is exposed when that
//     package declares what mgrgen generates for it (see hasGeneratedProxy). The syntax
//     of dependencies is not loaded; when X has no generated proxy, the file declaring X
//     is read to tell "not exposed" from "exposed, but not generated yet" (see
//     declaresExpose).
//
// Both give the same answer, and so the same output, for a package whose dependency's
// mgr_gen.go is current, whether the dependency is generated in the same run or not.
type universe struct {
	exposed map[*types.TypeName]*exposedType // the exposed types of the packages of this run
	deps    map[*types.TypeName]depInfo      // what dependency lookups found, by X
	files   map[string]map[string]bool       // file name → types it marks //mgr:expose
}

// depInfo is what is known about one type of a dependency.
type depInfo struct {
	target *exposedType // non-nil: exposed, with a generated proxy
	// unready: the type's declaration carries //mgr:expose but its package declares no
	// generated proxy for it: mgr_gen.go is missing or was generated before the directive.
	unready bool
}

func newUniverse() *universe {
	return &universe{
		exposed: map[*types.TypeName]*exposedType{},
		deps:    map[*types.TypeName]depInfo{},
		files:   map[string]map[string]bool{},
	}
}

// lookup reports whether the (origin) named type declared by obj is exposed. from is the
// package whose signatures are being checked, fset the file set positions are in.
func (u *universe) lookup(obj *types.TypeName, from *types.Package, fset *token.FileSet) depInfo {
	if t := u.exposed[obj]; t != nil {
		return depInfo{target: t}
	}
	if obj.Pkg() == nil || obj.Pkg() == from || !obj.Exported() {
		return depInfo{}
	}
	if info, ok := u.deps[obj]; ok {
		return info
	}
	var info depInfo
	named, ok := obj.Type().(*types.Named)
	switch {
	case !ok:
	case hasGeneratedProxy(named):
		info.target = &exposedType{name: obj.Name(), obj: obj, named: named, tparams: named.TypeParams()}
	default:
		info.unready = u.declaresExpose(fset.Position(obj.Pos()).Filename, obj.Name())
	}
	u.deps[obj] = info
	return info
}

// hasGeneratedProxy reports whether the package of named declares, next to it, the two
// names generated code of another package uses to carry a *X as a proxy, in the shape
// mgrgen generates them:
//
//   - XProxy, a struct type whose only field is an embedded mgr.ProxyBase, with as many
//     type parameters as X: the generated code builds one with
//     &XProxy{ProxyBase: mgr.MakeProxyBase(h)}, which is only right for that shape;
//   - XTypeID, a string constant, or for a generic X a func with X's number of type
//     parameters and no parameters returning a string.
//
// The other generated names (CreateX, the dispatch table's registration from init) are
// not needed by a user of the proxy, and the guard interface is unexported, so absent
// from export data. A hand-written pair of the same shape is a hand-written proxy, and
// is used as one.
func hasGeneratedProxy(named *types.Named) bool {
	obj := named.Obj()
	scope := obj.Pkg().Scope()
	n := named.TypeParams().Len()

	proxy, ok := scope.Lookup(obj.Name() + "Proxy").(*types.TypeName)
	if !ok || proxy.IsAlias() {
		return false
	}
	pn, ok := proxy.Type().(*types.Named)
	if !ok || pn.TypeParams().Len() != n {
		return false
	}
	st, ok := pn.Underlying().(*types.Struct)
	if !ok || st.NumFields() != 1 || !st.Field(0).Embedded() || !isNamed(st.Field(0).Type(), runtimePath, "ProxyBase") {
		return false
	}

	switch id := scope.Lookup(obj.Name() + "TypeID").(type) {
	case *types.Const:
		return n == 0 && id.Val().Kind() == constant.String
	case *types.Func:
		sig := id.Signature()
		return n > 0 && sig.TypeParams().Len() == n && sig.Params().Len() == 0 && sig.Results().Len() == 1 &&
			types.Identical(sig.Results().At(0).Type().Underlying(), types.Typ[types.String])
	}
	return false
}

// declaresExpose reports whether the type name is declared in file with //mgr:expose in
// its doc comment. Export data records the file of each declaration; a file that cannot
// be read (the dependency was compiled with -trimpath, say) counts as no directive, so
// that case falls back to carrying the value as a copy. Only files mentioning the
// directive are parsed, each once per run.
func (u *universe) declaresExpose(file, name string) bool {
	names, done := u.files[file]
	if !done {
		names = exposedInFile(file)
		u.files[file] = names
	}
	return names[name]
}

// exposedInFile returns the names of the types file marks //mgr:expose, or nil.
func exposedInFile(file string) map[string]bool {
	if file == "" {
		return nil
	}
	src, err := os.ReadFile(file)
	if err != nil || !bytes.Contains(src, []byte(exposeDirective)) {
		return nil
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments|parser.SkipObjectResolution)
	if f == nil {
		return nil
	}
	_ = err // a partial file still tells which declarations carry the directive
	names := map[string]bool{}
	quiet := &errorSink{fset: fset} // the dependency's own mistakes are its own run's
	for spec := range exposeDirectives(f, quiet) {
		names[spec.Name.Name] = true
	}
	return names
}

// qualName spells the type obj declares as the package from refers to it: X or other.X.
func qualName(obj *types.TypeName, from *types.Package) string {
	if p := obj.Pkg(); p != nil && p != from {
		return p.Name() + "." + obj.Name()
	}
	return obj.Name()
}
