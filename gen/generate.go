package gen

import (
	"path/filepath"
)

// Config says what to generate.
type Config struct {
	// Dir is the directory patterns are relative to; "" means the current directory.
	Dir string
	// Patterns are go/packages patterns ("." and "./..." style); none means ".".
	Patterns []string
	// Tags are build tags to load the packages with.
	Tags []string
}

// File is the output for one package.
type File struct {
	// Path is the absolute path of the package's OutputName file, or of its
	// PyOutputName module (which follows it) when the package serves types to Python.
	Path string
	// Content is what the file must hold; nil means the package has no exposed types,
	// so a file left over from an earlier run must be removed.
	Content []byte
	// Err is set when Content could not be formatted: Content is then the raw source,
	// written anyway so the user can see the broken line. It is a bug in mgrgen.
	Err error
}

// Generate loads the packages cfg names and returns the output file of each. It returns
// an ErrorList holding every problem in the input, or another error when the packages
// could not be loaded at all; in both cases no file should be written.
func Generate(cfg Config) ([]File, error) {
	pkgs, err := load(cfg.Dir, cfg.Tags, cfg.Patterns)
	if err != nil {
		return nil, err
	}
	// Every package's exposed types are known before any signature is checked: a method
	// of one package may take a *X of another package of the run.
	u := newUniverse()
	var builders []*builder
	for _, p := range pkgs {
		if len(p.GoFiles) == 0 {
			continue
		}
		builders = append(builders, declarePackage(p, &errorSink{fset: p.Fset}, u))
	}
	var files []File
	var errs ErrorList
	for _, b := range builders {
		m := b.build()
		s := b.errorSink
		errs = append(errs, s.errs...)
		path := filepath.Join(dirOf(b.pkg.GoFiles[0]), OutputName)
		if len(s.errs) > 0 {
			continue
		}
		py, ok, err := pyFile(dirOf(path), m) // pymodule.go
		if err != nil {
			return nil, err
		}
		if m == nil {
			files = append(files, File{Path: path})
		} else {
			content, err := emit(m)
			if content == nil {
				return nil, err
			}
			files = append(files, File{Path: path, Content: content, Err: err})
		}
		if ok {
			files = append(files, py)
		}
	}
	if len(errs) > 0 {
		return nil, errs.sort()
	}
	return files, nil
}

func dirOf(file string) string { return filepath.Dir(file) }
