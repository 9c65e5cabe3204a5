package gen

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// moduleRoot is where patterns in these tests are relative to.
const moduleRoot = ".."

// goldenDirs returns the input packages under testdata/golden, by name.
func goldenDirs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(moduleRoot, "testdata", "golden"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatal("no golden inputs")
	}
	return names
}

func goldenPath(name string) string {
	return filepath.Join(moduleRoot, "testdata", "golden", name, OutputName+".golden")
}

// generateOne generates the package at pattern and returns its one Go output file.
func generateOne(t *testing.T, pattern string) File {
	t.Helper()
	return generatePackage(t, pattern)[0]
}

// generatePackage generates the package at pattern and returns its output files: the Go
// file, then the Python module when the package has one.
func generatePackage(t *testing.T, pattern string) []File {
	t.Helper()
	files, err := Generate(Config{Dir: moduleRoot, Patterns: []string{pattern}})
	if err != nil {
		t.Fatalf("Generate(%s): %v", pattern, err)
	}
	if len(files) == 0 || len(files) > 2 || files[0].Content == nil || filepath.Base(files[0].Path) != OutputName {
		t.Fatalf("Generate(%s) returned %d files, want %s with content (and maybe %s)", pattern, len(files), OutputName, PyOutputName)
	}
	for _, f := range files {
		if f.Err != nil {
			t.Fatalf("Generate(%s): %v", pattern, f.Err)
		}
	}
	return files
}

// TestGolden compares the output for each package in testdata/golden with its
// mgr_gen.go.golden (and mgr_gen.py.golden when it serves types to Python); go test
// -update rewrites the goldens.
func TestGolden(t *testing.T) {
	for _, name := range goldenDirs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			files := generatePackage(t, "./testdata/golden/"+name)
			pyGolden := filepath.Join(moduleRoot, "testdata", "golden", name, PyOutputName+".golden")
			if len(files) == 1 {
				if _, err := os.Stat(pyGolden); err == nil {
					t.Errorf("no %s generated, but %s exists", PyOutputName, pyGolden)
				}
			}
			for _, f := range files {
				golden, header := goldenPath(name), Header
				if filepath.Base(f.Path) == PyOutputName {
					golden, header = pyGolden, PyHeader
				}
				checkGolden(t, golden, header, f.Content)
			}
		})
	}
}

// checkGolden compares got with the golden file, or with -update writes it.
func checkGolden(t *testing.T, golden, header string, got []byte) {
	t.Helper()
	if !bytes.HasPrefix(got, []byte(header+"\n")) {
		t.Errorf("output for %s does not start with %q", golden, header)
	}
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("output differs from %s (-want +got); go test -update accepts it:\n%s", golden, diff)
	}
}

// TestGoldenCompiles builds and vets every golden package with its golden output
// overlaid as mgr_gen.go, in one go command so the build is shared.
func TestGoldenCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles packages")
	}
	overlay := map[string]string{}
	for _, name := range goldenDirs(t) {
		dir, err := filepath.Abs(filepath.Join(moduleRoot, "testdata", "golden", name))
		if err != nil {
			t.Fatal(err)
		}
		golden, err := filepath.Abs(goldenPath(name))
		if err != nil {
			t.Fatal(err)
		}
		overlay[filepath.Join(dir, OutputName)] = golden
	}
	js, err := json.Marshal(map[string]any{"Replace": overlay})
	if err != nil {
		t.Fatal(err)
	}
	overlayFile := filepath.Join(t.TempDir(), "overlay.json")
	if err := os.WriteFile(overlayFile, js, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "vet", "-overlay="+overlayFile, "./testdata/golden/...")
	cmd.Dir = moduleRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet of the golden outputs: %v\n%s", err, out)
	}
}

// TestDeterministic generates everything twice and compares the bytes: map order, or
// anything else that varies between runs, would show here.
func TestDeterministic(t *testing.T) {
	cfg := Config{Dir: moduleRoot, Patterns: []string{"./testdata/golden/...", "./internal/gentest/..."}}
	first, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		again, err := Generate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, again, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
			t.Fatalf("second run differs (-first +second):\n%s", diff)
		}
	}
}

// TestCommittedOutputIsFresh fails when the committed mgr_gen.go of internal/gentest no
// longer matches what mgrgen generates: run go generate ./... and commit the result.
// (CI checks the whole module with mgrgen -check ./...; this test keeps the generator's
// own end-to-end package honest without depending on packages under development.)
func TestCommittedOutputIsFresh(t *testing.T) {
	files, err := Generate(Config{Dir: moduleRoot, Patterns: []string{"./internal/gentest/..."}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range files {
		if f.Content != nil {
			found = true
		}
		stale, err := f.Stale()
		if err != nil {
			t.Fatal(err)
		}
		if stale {
			t.Errorf("%s is stale: run go generate ./...", f.Path)
		}
	}
	if !found {
		t.Error("no package with exposed types in the module")
	}
}

// expectation is one "// ERROR: line:col: substring" line of an error fixture.
type expectation struct {
	pos  string // "line:col"
	text string
}

var expectRE = regexp.MustCompile(`^// ERROR: (\d+:\d+): (.+)$`)

// readExpectations reads the ERROR lines at the top of an error fixture.
func readExpectations(t *testing.T, path string) []expectation {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []expectation
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := expectRE.FindStringSubmatch(sc.Text())
		if m == nil {
			break
		}
		want = append(want, expectation{m[1], m[2]})
	}
	if len(want) == 0 {
		t.Fatalf("%s has no // ERROR: line:col: message lines", path)
	}
	return want
}

// TestErrors generates each file in testdata/errors as a package of its own and checks
// that exactly the errors its ERROR lines name are reported, at those positions, all in
// one run.
func TestErrors(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(moduleRoot, "testdata", "errors", "*.go"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no error fixtures: %v", err)
	}
	for _, path := range paths {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".go"), func(t *testing.T) {
			t.Parallel()
			want := readExpectations(t, path)
			_, err := Generate(Config{Dir: moduleRoot, Patterns: []string{"./testdata/errors/" + name}})
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Generate returned %v, want an ErrorList", err)
			}
			var got []expectation
			for _, e := range list {
				if filepath.Base(e.Pos.Filename) != name {
					t.Errorf("error in another file: %v", e)
					continue
				}
				got = append(got, expectation{fmt.Sprintf("%d:%d", e.Pos.Line, e.Pos.Column), e.Msg})
			}
			// Match by position, then check each message contains the expected text.
			pos := func(l []expectation) []string {
				var out []string
				for _, e := range l {
					out = append(out, e.pos)
				}
				slices.Sort(out)
				return out
			}
			if diff := cmp.Diff(pos(want), pos(got)); diff != "" {
				t.Errorf("error positions (-want +got):\n%s\nall errors:\n%v", diff, list)
			}
			for _, w := range want {
				if !slices.ContainsFunc(got, func(g expectation) bool { return g.pos == w.pos && strings.Contains(g.text, w.text) }) {
					t.Errorf("no error at %s containing %q; got:\n%v", w.pos, w.text, list)
				}
			}
		})
	}
}

// TestCrossPackageOutputIsTheSame checks that a package taking *shapes.Rect gets the same
// output whether shapes is generated in the same run (its types come from source, and the
// generator knows its exposed types from its directives) or is a dependency (its types
// come from export data, which holds the RectProxy and RectTypeID of its mgr_gen.go).
func TestCrossPackageOutputIsTheSame(t *testing.T) {
	alone := generateOne(t, "./testdata/golden/crosspkg")
	files, err := Generate(Config{Dir: moduleRoot, Patterns: []string{"./testdata/golden/crosspkg", "./internal/gentest/shapes"}})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(files, func(f File) bool { return f.Path == alone.Path })
	if i < 0 {
		t.Fatalf("no output for %s when generated with shapes", alone.Path)
	}
	if diff := cmp.Diff(string(alone.Content), string(files[i].Content)); diff != "" {
		t.Errorf("output with shapes in the run differs from the output with shapes as a dependency (-alone +together):\n%s", diff)
	}
}

// TestCrossPackageInOneRun checks the two ways a package can use an exposed type of a
// package of the same module that has no mgr_gen.go yet: generated alone (as go generate
// ./... does when the user sorts before widgets) or with that package in the same run,
// the output is the same, and both outputs compile together.
func TestCrossPackageInOneRun(t *testing.T) {
	alone := generateOne(t, "./testdata/onerun/user")

	files, err := Generate(Config{Dir: moduleRoot, Patterns: []string{"./testdata/onerun/..."}})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("got %d files, want 2", len(files))
	}
	overlay := map[string]string{}
	for _, f := range files {
		if f.Content == nil || f.Err != nil {
			t.Fatalf("%s: no content (%v)", f.Path, f.Err)
		}
		if f.Path == alone.Path {
			if !bytes.Contains(f.Content, []byte("Use(ctx context.Context, w *widgets.WidgetProxy) (*widgets.WidgetProxy, error)")) {
				t.Errorf("user's proxy method does not take and return *widgets.WidgetProxy:\n%s", f.Content)
			}
			if diff := cmp.Diff(string(alone.Content), string(f.Content)); diff != "" {
				t.Errorf("user's output generated alone differs from the one generated with widgets (-alone +together):\n%s", diff)
			}
		}
		tmp := filepath.Join(t.TempDir(), OutputName)
		if err := os.WriteFile(tmp, f.Content, 0o644); err != nil {
			t.Fatal(err)
		}
		overlay[f.Path] = tmp
	}
	if testing.Short() {
		return
	}
	js, err := json.Marshal(map[string]any{"Replace": overlay})
	if err != nil {
		t.Fatal(err)
	}
	overlayFile := filepath.Join(t.TempDir(), "overlay.json")
	if err := os.WriteFile(overlayFile, js, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "vet", "-overlay="+overlayFile, "./testdata/onerun/...")
	cmd.Dir = moduleRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet of the outputs generated in one run: %v\n%s", err, out)
	}
}
