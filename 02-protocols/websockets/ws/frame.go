package ws

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// Opcode is a frame's type (RFC 6455 section 5.2).
type Opcode byte

const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// IsControl reports a control frame: close, ping, pong and the reserved
// 0xB-0xF (section 5.5).
func (o Opcode) IsControl() bool { return o&0x8 != 0 }

// known reports whether the opcode is defined; 0x3-0x7 and 0xB-0xF are
// reserved and fail the connection (section 5.2).
func (o Opcode) known() bool {
	return o <= OpBinary || o >= OpClose && o <= OpPong
}

var opNames = map[Opcode]string{OpContinuation: "CONT", OpText: "TEXT",
	OpBinary: "BINARY", OpClose: "CLOSE", OpPing: "PING", OpPong: "PONG"}

func (o Opcode) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return "OP" + strconv.Itoa(int(o))
}

// Header is a frame header, decoded:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-------+-+-------------+-------------------------------+
//	|F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//	|I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//	|N|V|V|V|       |S|             |   (if payload len==126/127)   |
//	| |1|2|3|       |K|             |                               |
//	+-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//	|     Extended payload length continued, if payload len == 127  |
//	+ - - - - - - - - - - - - - - - +-------------------------------+
//	|                               |Masking-key, if MASK set to 1  |
//	+-------------------------------+-------------------------------+
//	| Masking-key (continued)       |          Payload Data         |
//	+-------------------------------- - - - - - - - - - - - - - - - +
type Header struct {
	Fin    bool
	RSV    byte // RSV1, RSV2, RSV3 as bits 2, 1, 0
	Op     Opcode
	Masked bool
	Mask   [4]byte
	Length int64
}

// MaxHeaderLen is the longest frame header: 2 + 8 length + 4 mask bytes.
const MaxHeaderLen = 14

// errShort means the buffer holds only part of a header.
var errShort = errors.New("ws: short frame header")

// errLength is a 64-bit length with its most significant bit set, which
// section 5.2 forbids.
var errLength = errors.New("ws: 64-bit payload length with the top bit set")

// headerLen returns the full header length announced by its first two
// bytes.
func headerLen(b0, b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}

// ParseHeader decodes the frame header at the start of b and returns it
// with its length in bytes. It fails if b holds only part of a header or
// the 64-bit length has its top bit set; the rules that depend on the
// connection (masking, opcodes, fragmentation) are the reader's.
// Lengths encoded in more bytes than needed are accepted: the minimal
// encoding is a MUST for the sender (section 5.2) that a receiver gains
// nothing by enforcing.
func ParseHeader(b []byte) (Header, int, error) {
	if len(b) < 2 {
		return Header{}, 0, errShort
	}
	n := headerLen(b[0], b[1])
	if len(b) < n {
		return Header{}, 0, errShort
	}
	h := Header{
		Fin:    b[0]&0x80 != 0,
		RSV:    b[0] >> 4 & 0x7,
		Op:     Opcode(b[0] & 0xf),
		Masked: b[1]&0x80 != 0,
		Length: int64(b[1] & 0x7f),
	}
	i := 2
	switch h.Length {
	case 126:
		h.Length = int64(binary.BigEndian.Uint16(b[2:]))
		i += 2
	case 127:
		l := binary.BigEndian.Uint64(b[2:])
		if l>>63 != 0 {
			return Header{}, 0, errLength
		}
		h.Length = int64(l)
		i += 8
	}
	if h.Masked {
		copy(h.Mask[:], b[i:i+4])
	}
	return h, n, nil
}

// AppendHeader appends the encoding of h to dst, with the payload length
// in the fewest bytes (section 5.2).
func AppendHeader(dst []byte, h Header) []byte {
	b0 := byte(h.Op&0xf) | h.RSV&0x7<<4
	if h.Fin {
		b0 |= 0x80
	}
	var b1 byte
	if h.Masked {
		b1 = 0x80
	}
	switch {
	case h.Length < 126:
		dst = append(dst, b0, b1|byte(h.Length))
	case h.Length <= 0xffff:
		dst = append(dst, b0, b1|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(h.Length))
	default:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(h.Length))
	}
	if h.Masked {
		dst = append(dst, h.Mask[:]...)
	}
	return dst
}
