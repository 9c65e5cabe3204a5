package pickle

import (
	"encoding/binary"
	"math"
)

// fastSeq decodes a canonical body (Tuple.Elems, FrozenSet.Members) made only of
// scalars, strings, bytes and nested tuples — what hashable tuples usually hold — without
// a machine. ok is false for anything else (the caller then
// runs the machine). The body is ours, so it is well formed; any surprise still only
// makes ok false.
func fastSeq(enc string, n int) (out []any, ok bool) {
	vals := make([]any, 0, n)
	var startsBuf [8]int
	var marksBuf [4]int
	starts, marks := startsBuf[:0], marksBuf[:0]
	p := 0
	push := func(at int, v any) {
		vals = append(vals, v)
		starts = append(starts, at)
	}
	for p < len(enc) {
		at := p
		op := enc[p]
		p++
		switch op {
		case opNone:
			push(at, nil)
		case opNewtrue:
			push(at, true)
		case opNewfalse:
			push(at, false)
		case opBinint1:
			if p+1 > len(enc) {
				return nil, false
			}
			push(at, int64(enc[p]))
			p++
		case opBinint2:
			if p+2 > len(enc) {
				return nil, false
			}
			push(at, int64(uint16(enc[p])|uint16(enc[p+1])<<8))
			p += 2
		case opBinint:
			if p+4 > len(enc) {
				return nil, false
			}
			push(at, int64(int32(binary.LittleEndian.Uint32([]byte(enc[p:p+4])))))
			p += 4
		case opBinfloat:
			if p+8 > len(enc) {
				return nil, false
			}
			push(at, math.Float64frombits(binary.BigEndian.Uint64([]byte(enc[p:p+8]))))
			p += 8
		case opLong1, opShortBinunicode, opShortBinbytes, opBinunicode, opBinbytes:
			var l int
			if op == opBinunicode || op == opBinbytes {
				if p+4 > len(enc) {
					return nil, false
				}
				l = int(binary.LittleEndian.Uint32([]byte(enc[p : p+4])))
				p += 4
			} else {
				if p+1 > len(enc) {
					return nil, false
				}
				l = int(enc[p])
				p++
			}
			if l > len(enc)-p {
				return nil, false
			}
			s := enc[p : p+l]
			p += l
			switch op {
			case opLong1:
				push(at, intFromLE(s))
			case opShortBinunicode, opBinunicode:
				push(at, s)
			default:
				push(at, Bytes(s))
			}
		case opEmptyTuple:
			push(at, Tuple{})
		case opMark:
			// The stack height and the MARK's offset, in one int.
			marks = append(marks, len(vals)|at<<32)
		case opTuple1, opTuple2, opTuple3:
			k := int(op-opTuple1) + 1
			if len(vals) < k {
				return nil, false
			}
			if len(marks) > 0 && int(uint32(marks[len(marks)-1])) > len(vals)-k {
				return nil, false
			}
			t := Tuple{n: k, enc: enc[starts[len(vals)-k]:at]}
			s0 := starts[len(vals)-k]
			vals, starts = vals[:len(vals)-k], starts[:len(vals)-k]
			push(s0, t)
		case opTuple:
			if len(marks) == 0 {
				return nil, false
			}
			mk := marks[len(marks)-1]
			marks = marks[:len(marks)-1]
			h, mat := int(uint32(mk)), mk>>32
			t := Tuple{n: len(vals) - h, enc: enc[mat+1 : at]}
			vals, starts = vals[:h], starts[:h]
			push(mat, t)
		default:
			return nil, false
		}
	}
	if len(vals) != n || len(marks) != 0 {
		return nil, false
	}
	return vals, true
}
