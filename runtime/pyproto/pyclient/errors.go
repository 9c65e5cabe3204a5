package pyclient

import (
	"errors"
	"fmt"

	"github.com/mgr-go/mgr/runtime/pyproto/pickle"
)

// Errors of this package (test with errors.Is).
var (
	// ErrReleased: a call on a proxy after Release.
	ErrReleased = errors.New("pyclient: proxy released")
	// ErrClosed: a call through a Client after Close.
	ErrClosed = errors.New("pyclient: client closed")
	// ErrProtocol: the server sent something that is not a manager reply.
	ErrProtocol = errors.New("pyclient: protocol error")
)

// PythonError is an exception a method raised in the manager (an '#ERROR' reply). It
// matches a Class with errors.Is, by class and by the builtin base classes Python code
// would catch it with: errors.Is(err, pyclient.KeyError), errors.Is(err, pyclient.LookupError).
type PythonError struct {
	Exc *pickle.Exception
	// Opaque is the exception as pickled when its class is the program's own (not
	// interpreted by runtime/pyproto/pickle); Exc then holds its class and args, and
	// errors.Is matches the class itself and Exception.
	Opaque pickle.Opaque
}

func (e *PythonError) Error() string { return "python: " + e.Exc.Error() }

// Is reports whether target is a *Class this exception is an instance of.
func (e *PythonError) Is(target error) bool {
	c, ok := target.(*Class)
	if !ok {
		return false
	}
	return c.matches(e.Exc.Module, e.Exc.Name)
}

// Class names a Python exception class, as an errors.Is target.
type Class struct{ Module, Name string }

func (c *Class) Error() string { return c.Module + "." + c.Name }

func (c *Class) matches(module, name string) bool {
	// queue.Empty is the C module's _queue.Empty; either spelling matches.
	norm := func(m string) string {
		if m == "_queue" {
			return "queue"
		}
		return m
	}
	for {
		if c.Name == name && norm(c.Module) == norm(module) {
			return true
		}
		if module != "builtins" {
			p, ok := otherParents[module+"."+name]
			if !ok {
				return c.Module == "builtins" && (c.Name == "Exception" || c.Name == "BaseException")
			}
			module, name = p.Module, p.Name
			continue
		}
		p, ok := builtinParents[name]
		if !ok {
			return false
		}
		name = p
	}
}

// Exception classes the stock manager types raise.
var (
	BaseException      = &Class{"builtins", "BaseException"}
	Exception          = &Class{"builtins", "Exception"}
	LookupError        = &Class{"builtins", "LookupError"}
	KeyError           = &Class{"builtins", "KeyError"}
	IndexError         = &Class{"builtins", "IndexError"}
	ValueError         = &Class{"builtins", "ValueError"}
	TypeError          = &Class{"builtins", "TypeError"}
	RuntimeError       = &Class{"builtins", "RuntimeError"}
	AttributeError     = &Class{"builtins", "AttributeError"}
	StopIteration      = &Class{"builtins", "StopIteration"}
	AssertionError     = &Class{"builtins", "AssertionError"}
	OSError            = &Class{"builtins", "OSError"}
	TimeoutError       = &Class{"builtins", "TimeoutError"}
	Empty              = &Class{"queue", "Empty"}
	Full               = &Class{"queue", "Full"}
	BrokenBarrierError = &Class{"threading", "BrokenBarrierError"}
)

// builtinParents is the base class of each builtin exception (single inheritance is
// enough for the ones managers raise).
var builtinParents = map[string]string{
	"Exception": "BaseException", "ArithmeticError": "Exception", "AssertionError": "Exception",
	"AttributeError": "Exception", "BufferError": "Exception", "EOFError": "Exception",
	"ImportError": "Exception", "ModuleNotFoundError": "ImportError", "LookupError": "Exception",
	"IndexError": "LookupError", "KeyError": "LookupError", "MemoryError": "Exception",
	"NameError": "Exception", "UnboundLocalError": "NameError", "OSError": "Exception",
	"BlockingIOError": "OSError", "ChildProcessError": "OSError", "ConnectionError": "OSError",
	"BrokenPipeError": "ConnectionError", "ConnectionAbortedError": "ConnectionError",
	"ConnectionRefusedError": "ConnectionError", "ConnectionResetError": "ConnectionError",
	"FileExistsError": "OSError", "FileNotFoundError": "OSError", "InterruptedError": "OSError",
	"IsADirectoryError": "OSError", "NotADirectoryError": "OSError", "PermissionError": "OSError",
	"ProcessLookupError": "OSError", "TimeoutError": "OSError", "ReferenceError": "Exception",
	"RuntimeError": "Exception", "NotImplementedError": "RuntimeError", "RecursionError": "RuntimeError",
	"StopIteration": "Exception", "StopAsyncIteration": "Exception", "SyntaxError": "Exception",
	"SystemError": "Exception", "TypeError": "Exception", "ValueError": "Exception",
	"UnicodeError": "ValueError", "ZeroDivisionError": "ArithmeticError", "OverflowError": "ArithmeticError",
	"FloatingPointError": "ArithmeticError", "GeneratorExit": "BaseException",
	"KeyboardInterrupt": "BaseException", "SystemExit": "BaseException",
}

// otherParents is the base class of the non-builtin exceptions managers raise.
var otherParents = map[string]*Class{
	"_queue.Empty": Exception, "queue.Empty": Exception, "queue.Full": Exception,
	"threading.BrokenBarrierError": RuntimeError,
}

// RemoteError is a failure the manager reported as text: '#TRACEBACK' (the server
// failed outside the method: unknown method or object, a control call that raised) or
// '#UNSERIALIZABLE' (the result could not be pickled). Python raises
// multiprocessing.managers.RemoteError for both.
type RemoteError struct {
	Kind      string // "#TRACEBACK" or "#UNSERIALIZABLE"
	Traceback string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("pyclient: remote error (%s):\n%s", e.Kind, e.Traceback)
}
