package h3

import (
	"errors"
	"fmt"

	"golang.org/x/net/http2/hpack"
)

// headerField is one field line: a name and a value.
type headerField struct {
	Name, Value string
}

// size is the field's size for SETTINGS_MAX_FIELD_SECTION_SIZE: name and
// value plus 32 bytes of overhead (RFC 9114, Section 4.2.2).
func (f headerField) size() uint64 { return uint64(len(f.Name) + len(f.Value) + 32) }

var (
	staticExact = map[headerField]int{}
	staticName  = map[string]int{}
)

func init() {
	for i, f := range staticTable {
		if _, ok := staticExact[f]; !ok {
			staticExact[f] = i
		}
		if _, ok := staticName[f.Name]; !ok {
			staticName[f.Name] = i
		}
	}
}

// appendPrefixInt appends v as a QPACK/HPACK prefixed integer (RFC 7541,
// Section 5.1) with an n-bit prefix; first holds the bits above the
// prefix.
func appendPrefixInt(b []byte, first byte, n uint, v uint64) []byte {
	max := uint64(1)<<n - 1
	if v < max {
		return append(b, first|byte(v))
	}
	b = append(b, first|byte(max))
	v -= max
	for v >= 128 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// errInt reports a prefixed integer that is truncated or too large.
var errInt = errors.New("qpack: bad prefixed integer")

// readPrefixInt reads a prefixed integer with an n-bit prefix from the
// start of b and returns it with the bytes used. Values above 2^62 are
// refused, so arithmetic on them cannot overflow.
func readPrefixInt(b []byte, n uint) (uint64, int, error) {
	if len(b) == 0 {
		return 0, 0, errInt
	}
	max := uint64(1)<<n - 1
	v := uint64(b[0]) & max
	if v < max {
		return v, 1, nil
	}
	var shift uint
	for i := 1; i < len(b); i++ {
		c := b[i]
		if shift > 56 {
			return 0, 0, errInt
		}
		v += uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			if v > 1<<62 {
				return 0, 0, errInt
			}
			return v, i + 1, nil
		}
		shift += 7
	}
	return 0, 0, errInt
}

// appendString appends a string literal with an n-bit length prefix,
// Huffman-coded (the H bit, just above the prefix) when that is shorter.
func appendString(b []byte, first byte, n uint, s string) []byte {
	if hl := hpack.HuffmanEncodeLength(s); hl < uint64(len(s)) {
		b = appendPrefixInt(b, first|1<<n, n, hl)
		return hpack.AppendHuffmanString(b, s)
	}
	b = appendPrefixInt(b, first, n, uint64(len(s)))
	return append(b, s...)
}

// readString reads a string literal whose H bit sits just above an
// n-bit length prefix. max bounds the decoded length.
func readString(b []byte, n uint, max int) (string, int, error) {
	if len(b) == 0 {
		return "", 0, errInt
	}
	huff := b[0]&(1<<n) != 0
	l, used, err := readPrefixInt(b, n)
	if err != nil {
		return "", 0, err
	}
	if l > uint64(len(b)-used) {
		return "", 0, errors.New("qpack: string runs past the field section")
	}
	raw := b[used : used+int(l)]
	used += int(l)
	if !huff {
		if len(raw) > max {
			return "", 0, errTooLarge
		}
		return string(raw), used, nil
	}
	// Huffman codes are at least 5 bits, so the decoded string is at most
	// 8/5 of the coded one; check before decoding.
	if len(raw)*8/5 > max {
		return "", 0, errTooLarge
	}
	s, err := hpack.HuffmanDecodeToString(raw)
	if err != nil {
		return "", 0, fmt.Errorf("qpack: %w", err)
	}
	return s, used, nil
}

// errTooLarge reports a field section above the advertised limit.
var errTooLarge = errors.New("qpack: field section too large")

// encodeFields encodes a field section (RFC 9204, Section 4.5) using only
// the static table and literals: Required Insert Count and Base are zero,
// so the decoder never waits on the encoder stream.
//
//	  0   1   2   3   4   5   6   7
//	+---+---+---+---+---+---+---+---+
//	|   Required Insert Count (8+)  |  = 0
//	+---+---------------------------+
//	| S |      Delta Base (7+)      |  = 0
//	+---+---------------------------+
//	|      Encoded Field Lines    ...
//
// A field matching a static entry exactly is an indexed field line
// (1 T=1 index); a field whose name is in the table is a literal with a
// name reference (0 1 N T=1 index, then the value); any other is a
// literal with a literal name (0 0 1 N H length, name, value).
func encodeFields(b []byte, fields []headerField) []byte {
	b = append(b, 0, 0)
	for _, f := range fields {
		if i, ok := staticExact[f]; ok {
			b = appendPrefixInt(b, 0xc0, 6, uint64(i))
			continue
		}
		if i, ok := staticName[f.Name]; ok {
			b = appendPrefixInt(b, 0x50, 4, uint64(i))
			b = appendString(b, 0, 7, f.Value)
			continue
		}
		b = appendString(b, 0x20, 3, f.Name)
		b = appendString(b, 0, 7, f.Value)
	}
	return b
}

// decodeError is QPACK_DECOMPRESSION_FAILED, or H3_EXCESSIVE_LOAD for a
// section above the limit.
func decodeError(err error) error {
	if errors.Is(err, errTooLarge) {
		return &Error{Code: ErrCodeExcessiveLoad, Reason: err.Error()}
	}
	return &Error{Code: ErrCodeQPACKDecompressionFailed, Reason: err.Error()}
}

// decodeFields decodes a field section encoded without the dynamic table
// (this endpoint advertises SETTINGS_QPACK_MAX_TABLE_CAPACITY 0, so a
// peer may not use it). Any reference to the dynamic table, or a
// Required Insert Count above zero, is QPACK_DECOMPRESSION_FAILED
// (RFC 9204, Sections 4.5.1 and 2.2.3). The decoded size, counted as
// SETTINGS_MAX_FIELD_SECTION_SIZE counts it, may not exceed max.
func decodeFields(b []byte, max uint64) ([]headerField, error) {
	ric, n, err := readPrefixInt(b, 8)
	if err != nil {
		return nil, decodeError(err)
	}
	if ric != 0 {
		return nil, decodeError(errors.New("qpack: dynamic table reference " +
			"with a table capacity of 0"))
	}
	b = b[n:]
	if _, n, err = readPrefixInt(b, 7); err != nil {
		return nil, decodeError(err)
	}
	b = b[n:]
	var fields []headerField
	var total uint64
	limit := int(min(max, 1<<30))
	for len(b) > 0 {
		var f headerField
		c := b[0]
		switch {
		case c&0x80 != 0: // indexed field line
			if c&0x40 == 0 {
				return nil, decodeError(errors.New("qpack: dynamic table index"))
			}
			i, n, err := readPrefixInt(b, 6)
			if err != nil {
				return nil, decodeError(err)
			}
			if i >= uint64(len(staticTable)) {
				return nil, decodeError(fmt.Errorf("qpack: static index %d", i))
			}
			f = staticTable[i]
			b = b[n:]
		case c&0x40 != 0: // literal with name reference
			if c&0x10 == 0 {
				return nil, decodeError(errors.New("qpack: dynamic table name"))
			}
			i, n, err := readPrefixInt(b, 4)
			if err != nil {
				return nil, decodeError(err)
			}
			if i >= uint64(len(staticTable)) {
				return nil, decodeError(fmt.Errorf("qpack: static index %d", i))
			}
			b = b[n:]
			f.Name = staticTable[i].Name
			v, n, err := readString(b, 7, limit)
			if err != nil {
				return nil, decodeError(err)
			}
			f.Value = v
			b = b[n:]
		case c&0x20 != 0: // literal with literal name
			name, n, err := readString(b, 3, limit)
			if err != nil {
				return nil, decodeError(err)
			}
			b = b[n:]
			v, n, err := readString(b, 7, limit)
			if err != nil {
				return nil, decodeError(err)
			}
			b = b[n:]
			f = headerField{name, v}
		default: // post-base forms: dynamic table only
			return nil, decodeError(errors.New("qpack: post-base reference"))
		}
		total += f.size()
		if total > max {
			return nil, decodeError(errTooLarge)
		}
		fields = append(fields, f)
	}
	return fields, nil
}
