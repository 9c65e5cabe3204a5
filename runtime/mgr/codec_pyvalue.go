package mgr

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
)

// picklePkg is the package of the values a CPython client's pickles decode to.
var picklePkg = reflect.TypeFor[pickle.Tuple]().PkgPath()

// pysyncPkg registers the pickle values that do have a Go form (bytes), for every
// process that imports it: a Go client reading what CPython clients stored needs it.
const pysyncPkg = "github.com/mgr-go/mgr/runtime/syncmgr/pysync"

// unregisteredNameHint is the advice for a decoder that met an unregistered type name:
// one of the pickle package's is registered by importing pysync.
func unregisteredNameHint(name string) string {
	if strings.HasPrefix(name, picklePkg+".") {
		return "import _ \"" + pysyncPkg + "\" in this process"
	}
	return "call mgr.RegisterValue for it in this process"
}

// unregisteredValueError explains why a value inside an interface cannot be encoded. A
// pickle value that is not registered (a tuple, dict, set, big int or class instance a
// CPython client stored) has no Go-codec form at all, so telling the user to register it
// would send them the wrong way.
func unregisteredValueError(t reflect.Type) error {
	base := t
	if base.Kind() == reflect.Pointer {
		base = base.Elem()
	}
	if base == reflect.TypeFor[pickle.Bytes]() || base == reflect.TypeFor[pickle.ByteArray]() {
		return fmt.Errorf("mgr: a value of type %s cannot travel inside an interface: register it with mgr.RegisterValue[%s]() in every process (importing %s does)", t, t, pysyncPkg)
	}
	if base.PkgPath() == picklePkg {
		return fmt.Errorf("mgr: a value of type %s (stored by a CPython client: a tuple, dict, set, int beyond int64 or class instance) has no form a Go client can read; only CPython clients can read it", t)
	}
	return fmt.Errorf("mgr: a value of type %s cannot travel inside an interface: register it with mgr.RegisterValue[%s]() in every process", t, t)
}
