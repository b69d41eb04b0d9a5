package protowire

import (
	"fmt"
	"math"
	"unicode/utf8"
)

// Merger is a message that decodes an encoding into itself, keeping what
// it holds: scalar fields are overwritten, embedded messages merged and
// repeated fields appended, as parsing the concatenation of two encodings
// must (the spec's "last one wins").
type Merger interface {
	Merge(b []byte) error
}

// Reader walks the records of one encoded message. Next reads a record
// and checks that it is whole; the typed getters then return its value.
// A message's Merge method is a loop over the records with a switch on
// Tag:
//
//	r := protowire.NewReader(b)
//	for r.Next() {
//		switch r.Tag() {
//		case protowire.MakeTag(1, protowire.Varint):
//			m.ID = r.Int32()
//		case protowire.MakeTag(2, protowire.Len):
//			m.Text = r.Text()
//		default:
//			m.Unknown = r.AppendUnknown(m.Unknown)
//		}
//	}
//	return r.Err()
//
// Switching on the whole tag, number and wire type together, sends a
// known field that arrives with an unexpected wire type to the default
// case, where it is kept as unknown: what protobuf's own parsers do.
type Reader struct {
	b   []byte // what is left after the current record
	tag Tag
	v   uint64 // the value of a VARINT, I32 or I64 record
	p   []byte // the payload of a LEN record
	rec []byte // the whole current record, tag included
	err error
}

// NewReader returns a Reader over the encoded message b. It aliases b.
func NewReader(b []byte) Reader { return Reader{b: b} }

// Next reads the next record. It returns false at the end of the message
// or on an error, which Err then reports.
func (r *Reader) Next() bool {
	if r.err != nil || len(r.b) == 0 {
		return false
	}
	start := r.b
	t, n, err := ConsumeVarint(r.b)
	if err != nil {
		return r.fail(fmt.Errorf("tag: %w", err))
	}
	tag := Tag(t)
	if num := tag.Num(); num < 1 || t>>3 > uint64(MaxNumber) {
		return r.fail(fmt.Errorf("%w %d", ErrFieldNum, t>>3))
	}
	r.tag, r.b, r.p = tag, r.b[n:], nil
	if err := r.value(tag, 0); err != nil {
		return r.fail(fmt.Errorf("field %d: %w", tag.Num(), err))
	}
	r.rec = start[:len(start)-len(r.b)]
	return true
}

// value consumes the value of a record whose tag was just read.
func (r *Reader) value(tag Tag, depth int) error {
	switch tag.Type() {
	case Varint:
		v, n, err := ConsumeVarint(r.b)
		if err != nil {
			return err
		}
		r.v, r.b = v, r.b[n:]
	case I32:
		if len(r.b) < 4 {
			return ErrTruncated
		}
		r.v, r.b = uint64(fixed32(r.b)), r.b[4:]
	case I64:
		if len(r.b) < 8 {
			return ErrTruncated
		}
		r.v, r.b = fixed64(r.b), r.b[8:]
	case Len:
		l, n, err := ConsumeVarint(r.b)
		if err != nil {
			return err
		}
		if l > uint64(len(r.b)-n) {
			return ErrTruncated
		}
		r.p, r.b = r.b[n:n+int(l)], r.b[n+int(l):]
	case SGroup:
		return r.skipGroup(tag.Num(), depth+1)
	case EGroup:
		return ErrGroup // an end with no start
	default:
		return fmt.Errorf("%w %d", ErrWireType, tag.Type())
	}
	return nil
}

// skipGroup consumes records up to the EGROUP that closes group num.
func (r *Reader) skipGroup(num Number, depth int) error {
	if depth > MaxGroupDepth {
		return ErrDepth
	}
	for {
		t, n, err := ConsumeVarint(r.b)
		if err != nil {
			return err
		}
		tag := Tag(t)
		r.b = r.b[n:]
		if tag.Type() == EGroup {
			if tag.Num() != num {
				return ErrGroup
			}
			return nil
		}
		if tag.Num() < 1 || t>>3 > uint64(MaxNumber) {
			return ErrFieldNum
		}
		if err := r.value(tag, depth); err != nil {
			return err
		}
	}
}

func (r *Reader) fail(err error) bool {
	if r.err == nil {
		r.err = err
	}
	return false
}

// Err reports the first error met, or nil.
func (r *Reader) Err() error { return r.err }

// Tag is the current record's tag.
func (r *Reader) Tag() Tag { return r.tag }

// Num is the current record's field number.
func (r *Reader) Num() Number { return r.tag.Num() }

// Type is the current record's wire type.
func (r *Reader) Type() Type { return r.tag.Type() }

// want checks that the current record has wire type t: a getter called
// on the wrong record is a bug in the message's code, reported as an error.
func (r *Reader) want(t Type) bool {
	if r.tag.Type() == t {
		return true
	}
	return r.fail(fmt.Errorf("field %d is %v, read as %v: %w",
		r.tag.Num(), r.tag.Type(), t, errWrongType))
}

// Int32 returns an int32 or enum field; like protobuf, it keeps the low 32
// bits of the varint.
func (r *Reader) Int32() int32 { return int32(r.varint()) }

// Int64 returns an int64 field.
func (r *Reader) Int64() int64 { return int64(r.varint()) }

// Uint32 returns a uint32 field.
func (r *Reader) Uint32() uint32 { return uint32(r.varint()) }

// Uint64 returns a uint64 field.
func (r *Reader) Uint64() uint64 { return r.varint() }

// Sint32 returns a ZigZag-encoded sint32 field.
func (r *Reader) Sint32() int32 { return int32(DecodeZigZag(r.varint())) }

// Sint64 returns a ZigZag-encoded sint64 field.
func (r *Reader) Sint64() int64 { return DecodeZigZag(r.varint()) }

// Bool returns a bool field: any non-zero varint is true.
func (r *Reader) Bool() bool { return r.varint() != 0 }

func (r *Reader) varint() uint64 {
	if !r.want(Varint) {
		return 0
	}
	return r.v
}

// Fixed32 returns a fixed32 field.
func (r *Reader) Fixed32() uint32 {
	if !r.want(I32) {
		return 0
	}
	return uint32(r.v)
}

// Sfixed32 returns an sfixed32 field.
func (r *Reader) Sfixed32() int32 { return int32(r.Fixed32()) }

// Float returns a float field.
func (r *Reader) Float() float32 { return math.Float32frombits(r.Fixed32()) }

// Fixed64 returns a fixed64 field.
func (r *Reader) Fixed64() uint64 {
	if !r.want(I64) {
		return 0
	}
	return r.v
}

// Sfixed64 returns an sfixed64 field.
func (r *Reader) Sfixed64() int64 { return int64(r.Fixed64()) }

// Double returns a double field.
func (r *Reader) Double() float64 { return math.Float64frombits(r.Fixed64()) }

// Text returns a string field, which proto3 requires to be valid UTF-8.
func (r *Reader) Text() string {
	if !r.want(Len) {
		return ""
	}
	if !utf8.Valid(r.p) {
		r.fail(fmt.Errorf("field %d: %w", r.tag.Num(), ErrUTF8))
		return ""
	}
	return string(r.p)
}

// Bytes returns a copy of a bytes field.
func (r *Reader) Bytes() []byte {
	if !r.want(Len) {
		return nil
	}
	return append([]byte(nil), r.p...)
}

// Raw returns a LEN field's payload without copying: it aliases the
// message being read.
func (r *Reader) Raw() []byte {
	if !r.want(Len) {
		return nil
	}
	return r.p
}

// Merge decodes an embedded message field into m.
func (r *Reader) Merge(m Merger) {
	if !r.want(Len) {
		return
	}
	if err := m.Merge(r.p); err != nil {
		r.fail(fmt.Errorf("field %d: %w", r.tag.Num(), err))
	}
}

// AppendUnknown appends the current record, exactly as it arrived, to
// dst: a message keeps the fields it does not know and writes them back
// when it is marshalled, so a newer sender's fields survive an older
// relay (proto3 since protobuf 3.5).
func (r *Reader) AppendUnknown(dst []byte) []byte { return append(dst, r.rec...) }

// Repeated scalar fields arrive packed (one LEN record holding the
// values) or not (one record per value), and a parser must accept both
// for the same field, even mixed. Each function below appends the values
// of the current record to dst, whichever form it has.

// Varints appends int32, int64, uint32, uint64 or enum values.
func Varints[T ~int32 | ~int64 | ~uint32 | ~uint64](r *Reader, dst []T) []T {
	return appendVarints(r, dst, func(v uint64) T { return T(v) })
}

// Sints appends ZigZag-encoded sint32 or sint64 values.
func Sints[T ~int32 | ~int64](r *Reader, dst []T) []T {
	return appendVarints(r, dst, func(v uint64) T { return T(DecodeZigZag(v)) })
}

// Bools appends bool values.
func Bools(r *Reader, dst []bool) []bool {
	return appendVarints(r, dst, func(v uint64) bool { return v != 0 })
}

// Fixed32s appends fixed32 or sfixed32 values.
func Fixed32s[T ~uint32 | ~int32](r *Reader, dst []T) []T {
	return appendFixed(r, dst, I32, func(v uint64) T { return T(uint32(v)) })
}

// Fixed64s appends fixed64 or sfixed64 values.
func Fixed64s[T ~uint64 | ~int64](r *Reader, dst []T) []T {
	return appendFixed(r, dst, I64, func(v uint64) T { return T(v) })
}

// Doubles appends double values.
func Doubles(r *Reader, dst []float64) []float64 {
	return appendFixed(r, dst, I64, math.Float64frombits)
}

// appendVarints appends the current record's varints, one or packed,
// converted by conv (which captures nothing, so costs no allocation).
func appendVarints[T any](r *Reader, dst []T, conv func(uint64) T) []T {
	switch r.tag.Type() {
	case Varint:
		return append(dst, conv(r.v))
	case Len:
		for p := r.p; len(p) > 0; {
			v, n, err := ConsumeVarint(p)
			if err != nil {
				r.fail(fmt.Errorf("field %d: %w: %w", r.tag.Num(), ErrPacked, err))
				return dst
			}
			dst = append(dst, conv(v))
			p = p[n:]
		}
	default:
		r.want(Varint)
	}
	return dst
}

// appendFixed appends the current record's 4- or 8-byte values (t is I32
// or I64), one or packed.
func appendFixed[T any](r *Reader, dst []T, t Type, conv func(uint64) T) []T {
	size := 4
	if t == I64 {
		size = 8
	}
	switch r.tag.Type() {
	case t:
		return append(dst, conv(r.v))
	case Len:
		if len(r.p)%size != 0 {
			r.fail(fmt.Errorf("field %d: %w", r.tag.Num(), ErrPacked))
			return dst
		}
		for p := r.p; len(p) > 0; p = p[size:] {
			if size == 4 {
				dst = append(dst, conv(uint64(fixed32(p))))
			} else {
				dst = append(dst, conv(fixed64(p)))
			}
		}
	default:
		r.want(t)
	}
	return dst
}
