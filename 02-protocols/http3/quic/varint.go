package quic

import "errors"

// MaxVarint is the largest value a variable-length integer can hold:
// 2^62-1 (RFC 9000, Section 16).
const MaxVarint = 1<<62 - 1

// errVarint reports a truncated variable-length integer.
var errVarint = errors.New("quic: truncated variable-length integer")

// VarintLen returns how many bytes AppendVarint uses for v: 1, 2, 4 or 8.
func VarintLen(v uint64) int {
	switch {
	case v < 1<<6:
		return 1
	case v < 1<<14:
		return 2
	case v < 1<<30:
		return 4
	default:
		return 8
	}
}

// AppendVarint appends v in the shortest variable-length encoding: the two
// high bits of the first byte give the length (00=1, 01=2, 10=4, 11=8
// bytes), the rest is the value in network byte order. Values above
// MaxVarint are a programming error and are clamped to it.
func AppendVarint(b []byte, v uint64) []byte {
	v = min(v, MaxVarint)
	return appendVarintN(b, v, VarintLen(v))
}

// appendVarintN appends v using exactly n bytes (1, 2, 4 or 8), for length
// fields reserved before their value is known.
func appendVarintN(b []byte, v uint64, n int) []byte {
	switch n {
	case 1:
		return append(b, byte(v))
	case 2:
		return append(b, 0x40|byte(v>>8), byte(v))
	case 4:
		return append(b, 0x80|byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	default:
		return append(b, 0xc0|byte(v>>56), byte(v>>48), byte(v>>40),
			byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
}

// ConsumeVarint decodes a variable-length integer at the start of b and
// returns it with the number of bytes read. n is negative if b is too short.
// Non-minimal encodings are accepted, as RFC 9000 Section 16 requires.
func ConsumeVarint(b []byte) (v uint64, n int) {
	if len(b) == 0 {
		return 0, -1
	}
	n = 1 << (b[0] >> 6)
	if len(b) < n {
		return 0, -1
	}
	v = uint64(b[0] & 0x3f)
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
	}
	return v, n
}

// reader walks a byte slice, remembering the first error; its methods
// return zero values once an error is recorded, so a decoder checks once
// at the end. Every decoder in this package reads through it, which is
// how every length is bounded by the bytes actually present.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

func (r *reader) varint() uint64 {
	v, n := ConsumeVarint(r.b)
	if n < 0 {
		r.fail(errVarint)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail(errShort)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// bytes returns the next n bytes without copying them.
func (r *reader) bytes(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.fail(errShort)
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

func (r *reader) uint32() uint32 {
	s := r.bytes(4)
	if s == nil {
		return 0
	}
	return uint32(s[0])<<24 | uint32(s[1])<<16 | uint32(s[2])<<8 | uint32(s[3])
}

// errShort reports a structure that runs past the end of its input.
var errShort = errors.New("quic: truncated input")
