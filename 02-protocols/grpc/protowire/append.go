package protowire

import "math"

// Marshaler is a message that appends its own encoding.
type Marshaler interface {
	MarshalAppend(b []byte) []byte
}

// The field appenders below write one record: tag, then value. A message
// decides which fields to write; in proto3 a scalar field holding its zero
// value is not written at all (implicit presence).

// AppendInt32 appends an int32 (or enum) field. A negative value takes ten
// bytes: it is sign-extended to 64 bits first, as the spec requires.
func AppendInt32(b []byte, num Number, v int32) []byte {
	return AppendVarint(AppendTag(b, num, Varint), uint64(int64(v)))
}

// AppendInt64 appends an int64 field.
func AppendInt64(b []byte, num Number, v int64) []byte {
	return AppendVarint(AppendTag(b, num, Varint), uint64(v))
}

// AppendUint32 appends a uint32 field.
func AppendUint32(b []byte, num Number, v uint32) []byte {
	return AppendVarint(AppendTag(b, num, Varint), uint64(v))
}

// AppendUint64 appends a uint64 field.
func AppendUint64(b []byte, num Number, v uint64) []byte {
	return AppendVarint(AppendTag(b, num, Varint), v)
}

// AppendSint32 appends a sint32 field, ZigZag-encoded.
func AppendSint32(b []byte, num Number, v int32) []byte {
	return AppendVarint(AppendTag(b, num, Varint), EncodeZigZag(int64(v)))
}

// AppendSint64 appends a sint64 field, ZigZag-encoded.
func AppendSint64(b []byte, num Number, v int64) []byte {
	return AppendVarint(AppendTag(b, num, Varint), EncodeZigZag(v))
}

// AppendBool appends a bool field: one byte, 0 or 1.
func AppendBool(b []byte, num Number, v bool) []byte {
	u := uint64(0)
	if v {
		u = 1
	}
	return AppendVarint(AppendTag(b, num, Varint), u)
}

// AppendFixed32 appends a fixed32 field: 4 bytes, little-endian.
func AppendFixed32(b []byte, num Number, v uint32) []byte {
	return appendFixed32(AppendTag(b, num, I32), v)
}

// AppendSfixed32 appends an sfixed32 field.
func AppendSfixed32(b []byte, num Number, v int32) []byte {
	return AppendFixed32(b, num, uint32(v))
}

// AppendFloat appends a float field (IEEE 754 single precision).
func AppendFloat(b []byte, num Number, v float32) []byte {
	return AppendFixed32(b, num, math.Float32bits(v))
}

// AppendFixed64 appends a fixed64 field: 8 bytes, little-endian.
func AppendFixed64(b []byte, num Number, v uint64) []byte {
	return appendFixed64(AppendTag(b, num, I64), v)
}

// AppendSfixed64 appends an sfixed64 field.
func AppendSfixed64(b []byte, num Number, v int64) []byte {
	return AppendFixed64(b, num, uint64(v))
}

// AppendDouble appends a double field (IEEE 754 double precision).
func AppendDouble(b []byte, num Number, v float64) []byte {
	return AppendFixed64(b, num, math.Float64bits(v))
}

// AppendString appends a string field: length, then the UTF-8 bytes.
func AppendString(b []byte, num Number, v string) []byte {
	b = AppendVarint(AppendTag(b, num, Len), uint64(len(v)))
	return append(b, v...)
}

// AppendBytes appends a bytes field.
func AppendBytes(b []byte, num Number, v []byte) []byte {
	b = AppendVarint(AppendTag(b, num, Len), uint64(len(v)))
	return append(b, v...)
}

// AppendMessage appends an embedded message as a LEN field. Its length
// is not known until it is written, so one byte is reserved for it and
// the body moved up if the length needs more (a message of 128 bytes or
// more); the alternative, computing every size first, walks the tree twice.
func AppendMessage(b []byte, num Number, m Marshaler) []byte {
	b = AppendTag(b, num, Len)
	at := len(b)
	b = m.MarshalAppend(append(b, 0))
	n := len(b) - at - 1
	k := SizeVarint(uint64(n))
	if k > 1 {
		b = append(b, make([]byte, k-1)...)
		copy(b[at+k:], b[at+1:at+1+n])
	}
	AppendVarint(b[at:at], uint64(n)) // writes in place: the room is there
	return b
}

// Repeated scalar fields are written packed, the proto3 default: one LEN
// record holding the values back to back. A field declared
// [packed = false] is written as one record per value with the field
// appenders above, in a loop.

// AppendPacked appends int32, int64, uint32, uint64 or enum values as one
// packed field.
func AppendPacked[T ~int32 | ~int64 | ~uint32 | ~uint64](b []byte, num Number, vs []T) []byte {
	if len(vs) == 0 {
		return b
	}
	n := 0
	for _, v := range vs {
		n += SizeVarint(uint64(int64(v)))
	}
	b = AppendVarint(AppendTag(b, num, Len), uint64(n))
	for _, v := range vs {
		b = AppendVarint(b, uint64(int64(v)))
	}
	return b
}

// AppendPackedSint appends sint32 or sint64 values as one packed field.
func AppendPackedSint[T ~int32 | ~int64](b []byte, num Number, vs []T) []byte {
	if len(vs) == 0 {
		return b
	}
	n := 0
	for _, v := range vs {
		n += SizeVarint(EncodeZigZag(int64(v)))
	}
	b = AppendVarint(AppendTag(b, num, Len), uint64(n))
	for _, v := range vs {
		b = AppendVarint(b, EncodeZigZag(int64(v)))
	}
	return b
}

// AppendPackedFixed32 appends fixed32 or sfixed32 values as one packed field.
func AppendPackedFixed32[T ~uint32 | ~int32](b []byte, num Number, vs []T) []byte {
	if len(vs) == 0 {
		return b
	}
	b = AppendVarint(AppendTag(b, num, Len), uint64(4*len(vs)))
	for _, v := range vs {
		b = appendFixed32(b, uint32(v))
	}
	return b
}

// AppendPackedFixed64 appends fixed64 or sfixed64 values as one packed field.
func AppendPackedFixed64[T ~uint64 | ~int64](b []byte, num Number, vs []T) []byte {
	if len(vs) == 0 {
		return b
	}
	b = AppendVarint(AppendTag(b, num, Len), uint64(8*len(vs)))
	for _, v := range vs {
		b = appendFixed64(b, uint64(v))
	}
	return b
}

// AppendPackedDouble appends double values as one packed field.
func AppendPackedDouble(b []byte, num Number, vs []float64) []byte {
	if len(vs) == 0 {
		return b
	}
	b = AppendVarint(AppendTag(b, num, Len), uint64(8*len(vs)))
	for _, v := range vs {
		b = appendFixed64(b, math.Float64bits(v))
	}
	return b
}
