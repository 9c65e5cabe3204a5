package gen

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"

	"golang.org/x/tools/go/packages"
)

// OutputName is the name of the file mgrgen writes into each package with exposed types.
const OutputName = "mgr_gen.go"

// loadMode is the smallest go/packages mode that gives the generator what it reads:
// names and files to place the output, syntax for directives and positions, and types
// checked from that syntax for signatures.
const loadMode = packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes

// load loads the packages matching patterns, relative to dir.
//
// Every file named OutputName is parsed as its package clause only: the previous output
// may be stale or broken (the user removed a method it calls), and it must never stop
// the generator from replacing it. Type errors are tolerated for the same reason: the
// package's own files may use names the generator is about to write (a RegisterBox[int]
// call in init, say). A signature that names a type the checker could not resolve is
// reported by validation, at its position.
func load(dir string, tags []string, patterns []string) ([]*packages.Package, error) {
	cfg := &packages.Config{
		Mode: loadMode,
		Dir:  dir,
		ParseFile: func(fset *token.FileSet, filename string, src []byte) (*ast.File, error) {
			mode := parser.AllErrors | parser.ParseComments
			if filepath.Base(filename) == OutputName {
				mode = parser.PackageClauseOnly | parser.ParseComments
			}
			return parser.ParseFile(fset, filename, src, mode)
		},
	}
	if len(tags) > 0 {
		cfg.BuildFlags = []string{"-tags=" + strings.Join(tags, ",")}
	}
	if len(patterns) == 0 {
		patterns = []string{"."}
	}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		return nil, fmt.Errorf("mgrgen: load %v: %w", patterns, err)
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("mgrgen: no packages match %v", patterns)
	}
	var errs ErrorList
	for _, p := range pkgs {
		for _, e := range p.Errors {
			// A failed compile shows up twice: as type errors, and as the go command's
			// build output ("# pkg\n...") from compiling the package for export data.
			// Both are tolerated, as explained above.
			if e.Kind == packages.TypeError || (e.Kind == packages.ListError && strings.HasPrefix(e.Msg, "# ")) {
				continue
			}
			errs = append(errs, packageError(p, e))
		}
	}
	if len(errs) > 0 {
		// Not an ErrorList: these are not problems of the annotations but packages that do
		// not load (syntax errors, missing packages), as go build would report them.
		return nil, fmt.Errorf("mgrgen: packages do not load:\n%w", errs.sort())
	}
	return pkgs, nil
}

// packageError turns a go/packages error into an Error; its Pos is "file:line:col" or
// empty (a go list error about the whole package).
func packageError(p *packages.Package, e packages.Error) *Error {
	if e.Pos != "" && e.Pos != "-" {
		// e.Pos is already "file:line:col"; keep it as printed.
		return &Error{Msg: e.Pos + ": " + e.Msg}
	}
	return &Error{Msg: p.PkgPath + ": " + e.Msg}
}
