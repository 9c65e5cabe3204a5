// Mgrgen generates typed proxies, dispatch tables and registration code for Go structs
// marked //mgr:expose, so that processes can share them through an mgr manager (Go's
// counterpart of Python's multiprocessing.managers).
//
// Usage:
//
//	mgrgen [flags] [packages]
//
// Packages are go list patterns ("." when none is given, "./..." for a tree). For each
// package with at least one //mgr:expose struct, mgrgen writes mgr_gen.go beside the
// package's files, and mgr_gen.py too when a type is served to Python (python=): a typed
// BaseManager and proxy classes for CPython clients. A generated file left in a package
// that no longer needs it is removed. Files whose content would not change are not
// touched.
//
// The flags are:
//
//	-check
//		Write nothing; exit 1 and list the files that are stale (missing, different or
//		left over), exit 0 when every file is current. For CI:
//		go run github.com/mgr-go/mgr/cmd/mgrgen -check ./...
//	-tags list
//		Comma-separated build tags to load the packages with.
//	-version
//		Print the version and the version of the generated-code contract, and exit.
//	-h
//		Print this usage and exit.
//
// # Running it
//
// Record mgrgen as a tool of your module once (Go 1.24 and later):
//
//	go mod edit -tool github.com/mgr-go/mgr/cmd/mgrgen
//	go mod tidy
//
// (or go get -tool github.com/mgr-go/mgr/cmd/mgrgen, which does both), put this line in
// one file of each package with exposed types:
//
//	//go:generate go tool mgrgen
//
// and run go generate ./... . The tool builds from the module's own requirement on
// github.com/mgr-go/mgr, so generated code and runtime always match. One run is enough:
// a package may use exposed types of packages of its module that are generated after it.
//
// A line "//go:generate go run github.com/mgr-go/mgr/cmd/mgrgen" works too, but only
// while go.sum holds the generator's dependencies: nothing in your module imports
// cmd/mgrgen, so go mod tidy removes them, and go generate then fails with "missing
// go.sum entry". The tool directive keeps them.
//
// # The annotation
//
// A doc comment line //mgr:expose, optionally followed by options, exposes a struct type.
// The grammar and what gets generated are documented in package
// github.com/mgr-go/mgr/gen.
//
// # Exit status
//
// 0 on success (with -check: every file is current); 1 when the input has errors (each
// printed as file:line:col: message, all of them in one run) or, with -check, when a file
// is stale; 2 when mgrgen itself fails (bad flags, packages that do not load, I/O).
//
// If generated code fails to format, which is a bug in mgrgen, the raw output is still
// written so that the broken line can be seen, and the exit status is 2.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mgr-go/mgr/gen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK    = 0
	exitStale = 1 // input errors, or stale files with -check
	exitFail  = 2
)

// run is main without the process: it parses args and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mgrgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check", false, "report stale generated files and exit 1, write nothing")
	tags := fs.String("tags", "", "comma-separated build tags")
	version := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: mgrgen [-check] [-tags list] [packages]\n\n")
		fmt.Fprintf(stderr, "mgrgen writes mgr_gen.go for each package with //mgr:expose structs,\n")
		fmt.Fprintf(stderr, "and mgr_gen.py for each with python= types.\n")
		fmt.Fprintf(stderr, "See go doc github.com/mgr-go/mgr/cmd/mgrgen.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitFail
	}
	if *version {
		fmt.Fprintf(stdout, "mgrgen %s (generated code version %d)\n", gen.Version, gen.GeneratedCodeVersion)
		return exitOK
	}
	cfg := gen.Config{Patterns: fs.Args()}
	if *tags != "" {
		cfg.Tags = strings.Split(*tags, ",")
	}
	files, err := gen.Generate(cfg)
	if err != nil {
		// An ErrorList itself (not one wrapped by a load failure) is the input's fault.
		if list, ok := err.(gen.ErrorList); ok {
			for _, e := range list {
				fmt.Fprintln(stderr, relative(e).Error())
			}
			if *check {
				return exitFail
			}
			return exitStale
		}
		fmt.Fprintln(stderr, err)
		return exitFail
	}

	status := exitOK
	for _, f := range files {
		if *check {
			stale, err := f.Stale()
			switch {
			case err != nil:
				fmt.Fprintln(stderr, err)
				return exitFail
			case stale:
				fmt.Fprintf(stderr, "%s is stale: run go generate\n", relPath(f.Path))
				status = max(status, exitStale)
			}
			continue
		}
		if _, err := f.Write(); err != nil {
			fmt.Fprintln(stderr, err)
			return exitFail
		}
		if f.Err != nil {
			fmt.Fprintln(stderr, f.Err)
			status = exitFail
		}
	}
	return status
}

// relative shortens an error's file name to be relative to the working directory, as
// the go command prints them.
func relative(e *gen.Error) *gen.Error {
	c := *e
	c.Pos.Filename = relPath(c.Pos.Filename)
	return &c
}

func relPath(path string) string {
	wd, err := os.Getwd()
	if err != nil || path == "" {
		return path
	}
	rel, err := filepath.Rel(wd, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return path
	}
	if !strings.HasPrefix(rel, ".") && filepath.Dir(rel) != "." {
		rel = "." + string(filepath.Separator) + rel
	}
	return rel
}
