package pickle

import (
	"errors"
	"fmt"
)

// Errors that decoding failures wrap (test with errors.Is).
var (
	// ErrTruncated: the input ended inside an opcode or before STOP.
	ErrTruncated = errors.New("truncated pickle")
	// ErrLimit: a Limits bound was exceeded.
	ErrLimit = errors.New("limit exceeded")
	// ErrUnsupported: an opcode or construct this package does not decode.
	ErrUnsupported = errors.New("unsupported")
	// ErrMalformed: the opcodes do not form a valid pickle (stack underflow, bad memo
	// reference, wrong operand types, …).
	ErrMalformed = errors.New("malformed pickle")
	// ErrForbidden: a global outside the allow-list, with Options.Strict.
	ErrForbidden = errors.New("not on the allow-list")
)

// Error is a decoding failure at a position of the input.
type Error struct {
	Offset int   // of the opcode
	Op     byte  // the opcode
	Err    error // what went wrong; wraps one of the Err* values
}

func (e *Error) Error() string {
	return fmt.Sprintf("pickle: offset %d: opcode 0x%02x %s: %v", e.Offset, e.Op, opName(e.Op), e.Err)
}

func (e *Error) Unwrap() error { return e.Err }
