package gen

import (
	"bytes"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// universe is what the packages of one run know about exposed types beyond their own:
// a parameter *other.X travels as a proxy when X is exposed, wherever it is declared.
//
// Three sources answer "is X exposed?":
//
//   - X's package is being generated in this run: its directives say so. Such a package
//     was type-checked from source with its previous output read as a package clause, so
//     its XProxy is not in its scope; it will be once this run writes the output.
//   - X's package is a dependency in the same module as the package being generated: the
//     //mgr:expose on X's declaration says so, whether or not X's package has been
//     generated yet (see declaresExpose). The dependency's syntax is not loaded, so the
//     file declaring X is read for its directives.
//   - X's package is a dependency of another module: go/packages gave its types from
//     export data, compiled from the package as it is on disk, mgr_gen.go included. X is
//     exposed when that package declares what mgrgen generates for it (see
//     hasGeneratedProxy); a hand-written proxy of that shape counts too, in any module.
//     When X has no generated proxy, its declaration is read to tell "not exposed" from
//     "exposed, but not generated yet", which is an error: only that module's author can
//     generate it.
//
// Why a same-module dependency's directive is enough: go generate ./... runs mgrgen
// package by package in import-path order, so an importer that sorts before the package
// of X is generated while X has no mgr_gen.go yet. Requiring X's generated proxy there
// made the first go generate ./... fail and a second one necessary. But what an
// importer's output needs from X's package is only two names, XProxy and XTypeID, which
// depend on nothing but X's name (and X's type parameters, which the importer's types
// have): the importer's output can be written before X's package is generated, as the
// run that generates X's package writes them. So within a module, each package's output
// is a function of the sources alone, the same in whatever order the packages are
// generated and whether they are generated one by one or in one run, and one
// go generate ./... is enough. Should X's package fail to generate (an error in its own
// directives), that run reports it, and the importer's build fails on the missing names.
//
// All three give the same answer, and so the same output, for a package whose dependency's
// mgr_gen.go is current, whether the dependency is generated in the same run or not.
type universe struct {
	exposed map[*types.TypeName]*exposedType // the exposed types of the packages of this run
	deps    map[*types.TypeName]depLookup    // what dependency lookups found, by X
	files   map[string]map[string]bool       // file name → types it marks //mgr:expose
	roots   map[string]string                // directory → its module's root (sameModule)
}

// depInfo is what is known about one type of a dependency.
type depInfo struct {
	target *exposedType // non-nil: exposed
	// unready: the type's declaration carries //mgr:expose but its package, of another
	// module, declares no generated proxy for it: mgr_gen.go is missing or was generated
	// before the directive.
	unready bool
}

// depLookup is what lookup caches per type: whether its package declares a generated
// proxy, and whether its declaration carries the directive.
type depLookup struct {
	generated *exposedType // non-nil: a generated proxy is declared
	declared  bool         // the declaration carries //mgr:expose
	file      string       // the declaration's file
}

func newUniverse() *universe {
	return &universe{
		exposed: map[*types.TypeName]*exposedType{},
		deps:    map[*types.TypeName]depLookup{},
		files:   map[string]map[string]bool{},
		roots:   map[string]string{},
	}
}

// lookup reports whether the (origin) named type declared by obj is exposed. from is the
// package whose signatures are being checked, fset the file set positions are in, dir
// from's directory.
func (u *universe) lookup(obj *types.TypeName, from *types.Package, fset *token.FileSet, dir string) depInfo {
	if t := u.exposed[obj]; t != nil {
		return depInfo{target: t}
	}
	if obj.Pkg() == nil || obj.Pkg() == from || !obj.Exported() {
		return depInfo{}
	}
	l, ok := u.deps[obj]
	if !ok {
		named, isNamed := obj.Type().(*types.Named)
		if isNamed {
			l.file = fset.Position(obj.Pos()).Filename
			if hasGeneratedProxy(named) {
				l.generated = proxyOf(obj, named)
			} else if u.declaresExpose(l.file, obj.Name()) {
				l.declared = true
			}
		}
		u.deps[obj] = l
	}
	switch {
	case l.generated != nil:
		return depInfo{target: l.generated}
	case l.declared && u.sameModule(l.file, dir):
		return depInfo{target: proxyOf(obj, obj.Type().(*types.Named))}
	default:
		return depInfo{unready: l.declared}
	}
}

// proxyOf is what another package's generated code needs to know of an exposed type X of a
// dependency: its name (for XProxy and XTypeID) and its type parameters.
func proxyOf(obj *types.TypeName, named *types.Named) *exposedType {
	return &exposedType{name: obj.Name(), obj: obj, named: named, tparams: named.TypeParams()}
}

// sameModule reports whether file belongs to the module of the package in dir: the
// nearest go.mod above each is the same, and file is not in a vendor directory. (The go
// command's module of the importer is not used: packages named by file, as in
// mgrgen x.go, have none.)
func (u *universe) sameModule(file, dir string) bool {
	if file == "" || dir == "" {
		return false
	}
	root := u.moduleRoot(dir)
	if root == "" || u.moduleRoot(filepath.Dir(file)) != root {
		return false
	}
	rel, err := filepath.Rel(root, file)
	if err != nil {
		return false
	}
	return !slices.Contains(strings.Split(filepath.ToSlash(rel), "/"), "vendor")
}

// moduleRoot returns the nearest directory at or above dir holding a go.mod, or "".
func (u *universe) moduleRoot(dir string) string {
	if root, ok := u.roots[dir]; ok {
		return root
	}
	root := ""
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
		root = dir
	} else if parent := filepath.Dir(dir); parent != dir {
		root = u.moduleRoot(parent)
	}
	u.roots[dir] = root
	return root
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
