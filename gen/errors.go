package gen

import (
	"cmp"
	"fmt"
	"go/token"
	"slices"
	"strings"
)

// Error is a problem the generator found in its input, at the innermost position it can
// name. Its message reads well when printed alone, in the file:line:col form editors and
// go vet use.
type Error struct {
	// Pos is where the problem is.
	Pos token.Position
	// Msg says what is wrong and, where there is one, what to do.
	Msg string
}

// Error returns "file:line:col: message".
func (e *Error) Error() string {
	if !e.Pos.IsValid() {
		return e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// ErrorList is every error of one run, sorted by position. The generator collects all of
// them rather than stopping at the first, so one run shows the user everything to fix.
type ErrorList []*Error

// Error joins the errors, one per line.
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// sort orders the list by file, line and column, then message, and drops exact
// duplicates (a type reached twice reports once).
func (l ErrorList) sort() ErrorList {
	slices.SortFunc(l, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.Pos.Filename, b.Pos.Filename),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
	return slices.CompactFunc(l, func(a, b *Error) bool { return *a == *b })
}

// errorSink collects errors with positions from one file set.
type errorSink struct {
	fset *token.FileSet
	errs ErrorList
}

// errorf records an error at pos.
func (s *errorSink) errorf(pos token.Pos, format string, args ...any) {
	s.errs = append(s.errs, &Error{Pos: s.fset.Position(pos), Msg: fmt.Sprintf(format, args...)})
}
