// Package gen is mgrgen as a library: it reads Go packages with structs marked
// //mgr:expose and produces, for each package, the mgr_gen.go that lets other processes
// use those structs through an mgr manager. cmd/mgrgen is a thin command over it.
//
// The pipeline is load (go/packages, with the previous output read as its package clause
// only, so a stale output never blocks regeneration; dependencies as export data) →
// directives (the raw comment list; CommentGroup.Text drops directives) of every package
// of the run, so each knows the others' exposed types → model and validation (every
// problem reported, at its position, in one run) → emit (jennifer, then go/format) →
// write (atomic, unchanged files untouched).
//
// # The annotation
//
// A line //mgr:expose in the doc comment of a struct type declaration exposes the type:
//
//	// Counter counts.
//	//
//	//mgr:expose
//	type Counter struct{ ... }
//
// Options follow on the same line, separated by spaces:
//
//		//mgr:expose typeid=NAME constructor=Func nocreate methods=A,B hide=C,D rename=E:F python=TYPEID pyname=E:e concurrent serialized inline
//
//	  - typeid=NAME: the name of the type in managers and on the wire (default
//	    "<import path>.<Type>"). Both ends must agree on it; set it to keep the name stable
//	    when the package moves. For a generic type it is the prefix before "[type args]".
//	  - constructor=Func: the package function that builds a new object, Python's
//	    callable. By default it is NewT if that exists, otherwise new(T). It must return *T
//	    or (*T, error) (for a generic T, *T[P...] with its own type parameters in order), and
//	    may take a context.Context first, which receives the manager's ctx. Its other
//	    parameters become the parameters of the generated CreateT.
//	  - nocreate: no CreateT and no constructor: objects of the type only come from methods
//	    returning *T or from named instances (Server.AddNamed). Iterators, say.
//	  - methods=A,B: expose exactly these methods (an allow-list). It may name methods
//	    promoted from embedded fields, which are otherwise never exposed.
//	  - hide=C,D: expose the exported methods declared on the type except these.
//	  - rename=E:F: the proxy method for E is called F. Needed when a method is called like
//	    a method every proxy has (Close, Token, ObjectID, String, Handle, Begin, BeginMethod).
//	  - python=TYPEID: serve the type to CPython's multiprocessing clients too, as Python
//	    typeid TYPEID: the generated init registers its Python face (mgr.MustPyType), with
//	    each method under its snake_case name and its arguments converted to the Go
//	    parameter types. Every exposed method must take and return only Go's integer and
//	    float types, string, bool and []byte; the constructor must take no parameters; a
//	    generic type cannot say it (use mgr.NewPyType on an instantiation). A package
//	    with python= types also gets mgr_gen.py (PyOutputName), a typed Python module:
//	    a BaseManager subclass named after the package registering each typeid with its
//	    proxy class, a BaseProxy subclass per type whose methods carry type hints and
//	    docstrings from the Go methods (source: templates/pymodule.py.tmpl).
//	  - pyname=E:e: the Python name of method E is e rather than its snake_case name.
//	    No two methods may share a Python name, nor may one be a Python keyword.
//	  - concurrent: the manager may run several methods of one object at once. Without it
//	    the runtime runs one method of an object at a time (TypeDesc.Serialized), which is
//	    right for plain structs; types that lock for themselves, and every type with a
//	    method that blocks (a queue's Get), need concurrent.
//	  - serialized: one method of an object at a time, as without concurrent, but said on
//	    purpose. A type with a method that takes a context.Context must say concurrent or
//	    serialized (see below); the two together are an error.
//	  - inline: every method runs in the goroutine that read the call (mgr.Method.Inline),
//	    not only those without a context.Context, saving a goroutine hand-off per call. A
//	    method that takes a context must then call mgr.Blocking(ctx) before it waits for
//	    anything, so the manager reads the session's other calls meanwhile (otherwise it
//	    does so only after 50–100 ms). The SyncManager types use it.
//
// A method that takes a context.Context may wait. Without concurrent the manager runs
// one method of an object at a time, so while it waits every other call of that object
// waits behind it — a Put that would end a WaitFor's wait, say, until the WaitFor times
// out. So a type with such a method and neither concurrent nor serialized is an error at
// its directive, which says what to write: concurrent when the type guards its own state
// (and releases its lock while it waits), serialized when one method at a time is meant.
//
// Methods that take no context.Context always run inline: they cannot be cancelled, so
// nothing is lost while the session's reading waits for them. One that runs longer than
// 50–100 ms makes the manager hand reading to another goroutine.
//
// Without methods= and hide=, the exposed methods are the exported methods declared on
// the type, with pointer or value receivers (the manager holds a *T, so both are
// callable; a value receiver works on a copy, as in Go).
//
// Unknown options, an option given twice, concurrent with serialized, a directive anywhere but a struct type's doc
// comment, an unknown //mgr: directive, and names in methods=, hide= or rename= that are
// not methods of the type are errors. So is an exposed type with no methods to expose,
// and so are near misses that would otherwise leave a type silently unexposed:
// "// mgr:expose" (a space after //, as ordinary comments have), "//mgr: expose" and
// "//mgr:Expose" (which gofmt turns into "// mgr: expose" and "// mgr:Expose" in a doc
// comment, since they are not directive syntax).
//
// # Signatures
//
// A method's parameters and results may be of: booleans and numbers of every size,
// strings, []byte, time.Time and time.Duration, named types of those, error (as a value),
// slices, arrays, maps, pointers and structs of supported types (exported fields are
// carried, from any package), any, and the type's own type parameters. Basic types are
// encoded directly; the rest go through the session's codec (mgr.Encoder.Value).
//
//   - A first parameter of type context.Context receives the manager-side ctx of the call,
//     which ends when the client's ctx does. Elsewhere it is an error.
//   - A last result of type error is the call's error: it comes back as the proxy
//     method's error, with errors.Is working for the package's exported Err* variables,
//     which the generated init registers.
//   - A parameter or result *X, where X is an exposed type, travels as a proxy: the proxy
//     method takes or returns *XProxy (*other.XProxy when X is other.X), and the method
//     receives the object itself (Python's method_to_typeid, inferred from the type).
//     Inside other values of a signature (a []*X) it is an error; inside an any, a proxy
//     whose type is registered with mgr.RegisterValue travels as a live reference. X is exposed when it is a type of this
//     package with //mgr:expose, a type with //mgr:expose of another package generated in
//     the same run or of a dependency in the same module (generated yet or not: one
//     go generate ./... is enough, whatever the order in which it runs the packages), or a
//     type of a dependency whose package declares, as its mgr_gen.go does, XProxy (a
//     struct whose only field is an embedded mgr.ProxyBase) and XTypeID (a string
//     constant, or for a generic X a func with X's type parameters). Dependencies'
//     types come from their compiled export data, so their mgr_gen.go must be current; a
//     generic X's instantiations must be registered (other.RegisterX[int]()) in every
//     process, as in its own package. When X, of another module, has //mgr:expose but its
//     package has no XProxy (mgr_gen.go missing, or older than the directive), it is an
//     error at the parameter. The directive is
//     found by reading the file export data names for X; when the dependency was compiled
//     with -trimpath that file cannot be read, and X travels as a copy until its package
//     is generated (mgrgen -check then reports the importer's output as stale). Any other
//     *T of another package is a value, carried by the codec as a copy.
//   - Variadic methods are supported; the variadic part travels as a slice.
//   - Channels, funcs, unsafe.Pointer, unexported types, interfaces other than error and
//     any, and struct type literals with tags are errors, at their position.
//
// # What is generated
//
// For each exposed type T: TTypeID (a constant, or for a generic type a function of its
// type arguments); TProxy embedding mgr.ProxyBase, with one method per exposed method
// taking ctx first and returning error last, and perhaps GetValue (below); CreateT,
// AttachT (from a token) and LookupT (a named instance); the dispatch table registered with mgr.Register from init
// (for a generic type, RegisterT[...], to be called from init for each instantiation
// used); a guard interface _mgrgenRerunGoGenerate_T that fails to compile, naming
// itself, when a method the output calls changed or went away; and a reference to
// mgr.SupportPackageIsVersionN, which fails to compile against a runtime that does not
// support the output. Methods are sorted by name; a method's index in that order is its
// number on the wire. A method added to T without regenerating compiles and is simply not
// exposed: mgrgen -check in CI finds that.
//
// # GetValue and String
//
// TProxy.GetValue(ctx) (T, error) returns a copy of the object, made in the manager
// between two of its methods: Python's proxy._getvalue(). A proxy gets it only when the
// copy is the object's whole state and reading it can neither race nor reveal more than
// the author exposed: T is not concurrent, has neither methods= nor hide=, has at least
// one field, and every field is exported and carried whole by the codec (no locks,
// channels, funcs or unexported fields anywhere inside). A method of T, or a proxy
// method, called GetValue wins over the generated one. Its dispatch entry, the last of the
// table, is called _getvalue, which no exposed method can be called.
//
// String, from mgr.ProxyBase, describes the proxy — type, object ID, manager — as
// Python's repr(proxy) does; it never calls the manager. Python's str(proxy) shows the
// referent: here, print what GetValue returns, or give T a method that says what it
// should.
package gen
