// ERROR: 19:1: "// mgr:expose" is not a directive, so it exposes nothing: write //mgr:expose (no space after //)
// ERROR: 27:1: "// mgr: expose" is not a directive, so it exposes nothing: write //mgr:expose (no space after //, no space after the colon)
// ERROR: 34:1: "// mgr:Expose" is not a directive, so it exposes nothing: write //mgr:expose (no space after //, lower case)
// ERROR: 41:1: "// mgr : EXPOSE" is not a directive, so it exposes nothing: write //mgr:expose (no space after //, no space before the colon, no space after the colon, lower case)
// ERROR: 46:1: "// mgr:Expose" is not a directive
// ERROR: 51:1: unknown directive //mgr:expo (mgrgen knows //mgr:expose)
// ERROR: 56:1: unknown directive //mgr: (mgrgen knows //mgr:expose)
// ERROR: 60:1: "//mgr: expose" is not a directive, so it exposes nothing: write //mgr:expose (no space after the colon)
// ERROR: 62:1: "//mgr:Expose" is not a directive, so it exposes nothing: write //mgr:expose (lower case)
package nearmiss

// Each type below was meant to be exposed. A near miss of the directive used to be an
// ordinary comment (the type was silently not exposed) or an unknown directive that did
// not say what was wrong.

// Space has the space of ordinary comments: "// mgr:expose" is prose to the go command,
// so the type would silently not be exposed.
//
// mgr:expose
type Space struct{}

func (*Space) M() {}

// AfterColon had "//mgr: expose": that is not directive syntax, so gofmt treats it as
// prose and puts a space after the //.
//
// mgr: expose concurrent
type AfterColon struct{}

func (*AfterColon) M() {}

// Upper had "//mgr:Expose", which gofmt turned into prose the same way.
//
// mgr:Expose
type Upper struct{}

func (*Upper) M() {}

// Everything has every mistake at once.
//
// mgr : EXPOSE
type Everything struct{}

func (*Everything) M() {}

// mgr:Expose
func F() {}

// Short is a truncated directive.
//
//mgr:expo
type Short struct{}

func (*Short) M() {}

//mgr:

// Outside a doc comment gofmt leaves them as written.

//mgr: expose

//mgr:Expose

// Prose is left alone: a comment about mgr: the manager, or mgr:exposed in passing.
//
// mgr: the manager process.
// mgr:exposes is not the directive's word.
type Prose struct{}
