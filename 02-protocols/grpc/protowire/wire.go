package protowire

import (
	"errors"
	"fmt"
)

// Number is a field number, 1 to MaxNumber (19000 to 19999 are reserved
// for the protobuf implementation but legal on the wire).
type Number int32

// MaxNumber is the largest field number: the tag is a 32-bit varint with
// 3 bits of wire type.
const MaxNumber Number = 1<<29 - 1

// Type is a wire type: how the value after a tag is laid out.
type Type int8

// The six wire types.
const (
	Varint Type = 0 // int32, int64, uint32, uint64, sint32, sint64, bool, enum
	I64    Type = 1 // fixed64, sfixed64, double: 8 bytes little-endian
	Len    Type = 2 // string, bytes, messages, packed repeated: length + bytes
	SGroup Type = 3 // group start (deprecated)
	EGroup Type = 4 // group end (deprecated)
	I32    Type = 5 // fixed32, sfixed32, float: 4 bytes little-endian
)

var typeNames = [...]string{"VARINT", "I64", "LEN", "SGROUP", "EGROUP", "I32"}

func (t Type) String() string {
	if t >= 0 && int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("wire type %d", int8(t))
}

// Tag is a record's key on the wire: (number << 3) | type.
type Tag uint64

// MakeTag returns the tag of field num with wire type typ.
func MakeTag(num Number, typ Type) Tag { return Tag(num)<<3 | Tag(typ) }

// Num is the tag's field number.
func (t Tag) Num() Number { return Number(t >> 3) }

// Type is the tag's wire type.
func (t Tag) Type() Type { return Type(t & 7) }

// Errors a Reader reports; they are wrapped with the field they concern.
var (
	ErrTruncated = errors.New("protowire: message ends in the middle of a field")
	ErrOverflow  = errors.New("protowire: varint longer than 64 bits")
	ErrFieldNum  = errors.New("protowire: invalid field number")
	ErrWireType  = errors.New("protowire: invalid wire type")
	ErrGroup     = errors.New("protowire: mismatched group end")
	ErrDepth     = errors.New("protowire: groups nested too deeply")
	ErrUTF8      = errors.New("protowire: string field is not valid UTF-8")
	ErrPacked    = errors.New("protowire: packed field holds a partial value")
	errWrongType = errors.New("protowire: wrong wire type for field")
)

// MaxGroupDepth bounds how deeply groups may nest inside an unknown field
// being skipped; protobuf's own parsers stop at 100 levels too.
const MaxGroupDepth = 100

// AppendVarint appends v in base-128: 7 bits per byte, least significant
// group first, the high bit set on every byte but the last.
func AppendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// SizeVarint is the number of bytes AppendVarint writes for v: 1 to 10.
func SizeVarint(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// ConsumeVarint decodes a varint at the start of b and returns it and its
// length in bytes.
func ConsumeVarint(b []byte) (v uint64, n int, err error) {
	for i := 0; i < 10; i++ {
		if i == len(b) {
			return 0, 0, ErrTruncated
		}
		c := b[i]
		if i == 9 && c > 1 { // the tenth byte holds bit 63 only
			return 0, 0, ErrOverflow
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1, nil
		}
	}
	return 0, 0, ErrOverflow
}

// EncodeZigZag maps signed to unsigned so that small magnitudes stay
// small: 0, -1, 1, -2 become 0, 1, 2, 3 (sint32 and sint64).
func EncodeZigZag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

// DecodeZigZag undoes EncodeZigZag.
func DecodeZigZag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// AppendTag appends the tag of field num with wire type typ.
func AppendTag(b []byte, num Number, typ Type) []byte {
	return AppendVarint(b, uint64(MakeTag(num, typ)))
}

func appendFixed32(b []byte, v uint32) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}

func appendFixed64(b []byte, v uint64) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24),
		byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
}

func fixed32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func fixed64(b []byte) uint64 {
	return uint64(fixed32(b)) | uint64(fixed32(b[4:]))<<32
}
