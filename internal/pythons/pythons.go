// Package pythons finds the CPython interpreters that interop tests run against: every
// pyenv version from 3.11 to 3.13 (run as PYENV_VERSION=X python3), else python3 on PATH
// if it is one of those.
package pythons

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// Python is one interpreter.
type Python struct {
	Version string // e.g. "3.12.1"
	env     []string
	path    string
}

// Command returns a command running this interpreter with args.
func (p Python) Command(args ...string) *exec.Cmd {
	cmd := exec.Command(p.path, args...)
	cmd.Env = append(os.Environ(), p.env...)
	return cmd
}

// Env returns the environment additions that select this interpreter.
func (p Python) Env() []string { return p.env }

// Path returns the interpreter's command (python3 for pyenv, which PYENV_VERSION selects).
func (p Python) Path() string { return p.path }

var wanted = []string{"3.11", "3.12", "3.13"}

// Find returns the interpreters found, oldest first (looked for once per process).
func Find() []Python { return find() }

var find = sync.OnceValue(func() []Python {
	py, err := exec.LookPath("python3")
	if err != nil {
		return nil
	}
	var found []Python
	if out, err := exec.Command("pyenv", "versions", "--bare").Output(); err == nil {
		for _, v := range strings.Fields(string(out)) {
			for _, w := range wanted {
				if v == w || strings.HasPrefix(v, w+".") {
					env := []string{"PYENV_VERSION=" + v}
					cmd := exec.Command(py, "-c", "import multiprocessing.managers")
					cmd.Env = append(os.Environ(), env...)
					if cmd.Run() == nil {
						found = append(found, Python{Version: v, env: env, path: py})
					}
				}
			}
		}
	}
	if len(found) > 0 {
		return found
	}
	out, err := exec.Command(py, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])").Output()
	if err != nil {
		return nil
	}
	v := strings.TrimSpace(string(out))
	for _, w := range wanted {
		if strings.HasPrefix(v, w+".") {
			return []Python{{Version: v, path: py}}
		}
	}
	return nil
})

// ForTest returns the interpreters to test against, skipping t with a message when
// there is none.
func ForTest(t testing.TB) []Python {
	t.Helper()
	ps := Find()
	if len(ps) == 0 {
		t.Skip("no CPython 3.11–3.13 found (pyenv versions or python3 on PATH): skipping the CPython interop test")
	}
	return ps
}
