package gen

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mgr-go/mgr/internal/pythons"
)

// TestPyModuleLoads loads the golden Python module (testdata/golden/python) in every
// CPython found, as a module, and checks what Python sees: the classes, _exposed_, the
// type hints, docstrings with quotes and backslashes intact, keyword parameters renamed,
// and the typeids registered on the manager class.
func TestPyModuleLoads(t *testing.T) {
	pys := pythons.ForTest(t)
	golden, err := filepath.Abs(filepath.Join(moduleRoot, "testdata", "golden", "python", PyOutputName+".golden"))
	if err != nil {
		t.Fatal(err)
	}
	const check = `
import importlib.machinery, importlib.util, inspect, sys, typing
loader = importlib.machinery.SourceFileLoader('mgr_gen', sys.argv[1])
spec = importlib.util.spec_from_loader('mgr_gen', loader)
m = importlib.util.module_from_spec(spec)
loader.exec_module(m)
from multiprocessing.managers import BaseManager, BaseProxy
assert issubclass(m.PythonManager, BaseManager) and issubclass(m.ThermoProxy, BaseProxy)
assert m.ThermoProxy._exposed_ == ('get_celsius', 'label', 'raw', 'scale', 'set_celsius'), m.ThermoProxy._exposed_
assert m.SharedProxy._exposed_ == ('ping',)
assert typing.get_type_hints(m.ThermoProxy.label) == {'prefix': str, 'digits': int, 'return': tuple[str, bool]}
assert typing.get_type_hints(m.ThermoProxy.raw) == {'return': bytes}
assert typing.get_type_hints(m.ThermoProxy.set_celsius) == {'c': float, 'return': type(None)}
assert list(inspect.signature(m.ThermoProxy.scale).parameters) == ['self', 'from_', 'in_', 'arg2']
want = 'Scale multiplies by "factor" \\ a divisor; its parameter names are Python keywords or\nblank, which the typed proxy method renames ("""quoted""").'
assert inspect.getdoc(m.ThermoProxy.scale) == want, repr(inspect.getdoc(m.ThermoProxy.scale))
assert inspect.getdoc(m.ThermoProxy).startswith('Thermo is created by Python clients as typeid Thermo.')
reg = m.PythonManager._registry
assert reg['Thermo'][3] is m.ThermoProxy and reg['get_shared'][3] is m.SharedProxy, reg
print('OK')
`
	for _, py := range pys {
		cmd := py.Command("-B", "-c", check, golden)
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "OK" {
			t.Errorf("python %s loading %s: %v\n%s", py.Version, golden, err, out)
		}
	}
}

// TestPyManagerName checks the manager class's name for package names Python spells
// differently.
func TestPyManagerName(t *testing.T) {
	for _, c := range []struct{ name, path, want string }{
		{"pyinterop", "x/pyinterop", "PyinteropManager"},
		{"main", "github.com/u/my-tool", "MyToolManager"},
		{"snake_case", "x/snake_case", "SnakeCaseManager"},
		{"main", "example.com/v2", "V2Manager"},
		{"main", "example.com/2fa", "Mgr2faManager"},
	} {
		if got := pyManagerName(&pkgModel{name: c.name, path: c.path}); got != c.want {
			t.Errorf("pyManagerName(%s, %s) = %s, want %s", c.name, c.path, got, c.want)
		}
	}
}
