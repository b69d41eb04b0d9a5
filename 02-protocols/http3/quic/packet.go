package quic

import (
	"crypto/rand"
	"errors"
	"fmt"
)

// Version1 is QUIC version 1, the only version this engine speaks.
const Version1 uint32 = 0x00000001

// MaxConnIDLen is the longest connection id QUIC version 1 allows.
const MaxConnIDLen = 20

// connIDLen is the length of the connection ids this endpoint issues.
const connIDLen = 8

// MinInitialDatagram is the size every datagram carrying a client Initial
// (and every server datagram with an ack-eliciting Initial) is padded to
// (RFC 9000, Section 14.1).
const MinInitialDatagram = 1200

// PacketType names the kinds of QUIC packet (RFC 9000, Section 17).
type PacketType uint8

// The packet types. The first four are long-header types in the order of
// their two type bits.
const (
	PacketInitial PacketType = iota
	Packet0RTT
	PacketHandshake
	PacketRetry
	PacketVersionNegotiation
	Packet1RTT
)

func (t PacketType) String() string {
	switch t {
	case PacketInitial:
		return "Initial"
	case Packet0RTT:
		return "0-RTT"
	case PacketHandshake:
		return "Handshake"
	case PacketRetry:
		return "Retry"
	case PacketVersionNegotiation:
		return "VersionNegotiation"
	case Packet1RTT:
		return "1-RTT"
	}
	return fmt.Sprintf("PacketType(%d)", t)
}

// space returns the packet number space a packet type uses.
func (t PacketType) space() pnSpace {
	switch t {
	case PacketInitial:
		return spaceInitial
	case PacketHandshake:
		return spaceHandshake
	default:
		return spaceApp // 0-RTT and 1-RTT share one space
	}
}

// header is the part of a packet that is readable before packet
// protection is removed:
//
//	Long Header Packet {                 Short (1-RTT) Header Packet {
//	  Header Form (1) = 1,                 Header Form (1) = 0,
//	  Fixed Bit (1) = 1,                   Fixed Bit (1) = 1,
//	  Long Packet Type (2),                Spin Bit (1),
//	  Type-Specific Bits (4),              Reserved Bits (2),
//	  Version (32),                        Key Phase (1),
//	  DCID Len (8), DCID (0..160),         Packet Number Length (2),
//	  SCID Len (8), SCID (0..160),         DCID (0..160),
//	  [Initial: Token Length (i), Token]   Packet Number (8..32),
//	  Length (i),                          Packet Payload (8..),
//	  Packet Number (8..32),             }
//	  Packet Payload (8..),
//	}
//
// The low bits of the first byte and the packet number are masked by
// header protection (RFC 9001, Section 5.4).
type header struct {
	typ      PacketType
	version  uint32
	dcid     []byte
	scid     []byte
	token    []byte // Initial only
	pnOffset int    // where the packet number starts
	end      int    // where this packet ends in the datagram
	// For Version Negotiation: the versions listed. For Retry: the
	// integrity tag is the last 16 bytes, before end.
	versions []uint32
}

// errUnsupportedVersion is returned by parseHeader for a long header with
// a version this endpoint does not speak; the header's dcid, scid and
// version are still filled in so a server can answer with Version
// Negotiation.
var errUnsupportedVersion = errors.New("quic: unsupported version")

// parseHeader reads the packet header at the start of b. shortDCIDLen is
// the length of the connection ids this endpoint issued, needed because a
// short header does not carry it. A packet that runs past b, or whose
// fixed bit is clear, is an error: the caller drops it (and, for a
// coalesced datagram, everything after it).
func parseHeader(b []byte, shortDCIDLen int) (header, error) {
	var h header
	if len(b) < 1 {
		return h, errShort
	}
	if b[0]&0x80 == 0 {
		// Short header.
		if b[0]&0x40 == 0 {
			return h, errors.New("quic: fixed bit is zero")
		}
		if len(b) < 1+shortDCIDLen {
			return h, errShort
		}
		h.typ = Packet1RTT
		h.version = Version1
		h.dcid = b[1 : 1+shortDCIDLen]
		h.pnOffset = 1 + shortDCIDLen
		h.end = len(b)
		return h, nil
	}
	r := reader{b: b[1:]}
	h.version = r.uint32()
	dl := r.byte()
	h.dcid = r.bytes(uint64(dl))
	sl := r.byte()
	h.scid = r.bytes(uint64(sl))
	if r.err != nil {
		return h, r.err
	}
	if h.version == 0 {
		h.typ = PacketVersionNegotiation
		for len(r.b) >= 4 {
			h.versions = append(h.versions, r.uint32())
		}
		h.end = len(b)
		return h, nil
	}
	if h.version != Version1 {
		return h, errUnsupportedVersion
	}
	if dl > MaxConnIDLen || sl > MaxConnIDLen {
		return h, errors.New("quic: connection id longer than 20 bytes")
	}
	if b[0]&0x40 == 0 {
		return h, errors.New("quic: fixed bit is zero")
	}
	h.typ = PacketType(b[0] >> 4 & 3)
	switch h.typ {
	case PacketRetry:
		if len(r.b) < 16 {
			return h, errShort
		}
		h.token = r.b[:len(r.b)-16]
		h.end = len(b)
		return h, nil
	case PacketInitial:
		h.token = r.bytes(r.varint())
	}
	length := r.varint()
	if r.err != nil {
		return h, r.err
	}
	h.pnOffset = len(b) - len(r.b)
	if length > uint64(len(r.b)) {
		return h, errShort
	}
	h.end = h.pnOffset + int(length)
	return h, nil
}

// dcidOf returns the destination connection id of the first packet in a
// datagram, which is how an endpoint finds the connection it belongs to.
func dcidOf(b []byte, shortDCIDLen int) ([]byte, bool) {
	if len(b) < 1 {
		return nil, false
	}
	if b[0]&0x80 == 0 {
		if len(b) < 1+shortDCIDLen {
			return nil, false
		}
		return b[1 : 1+shortDCIDLen], true
	}
	if len(b) < 6 || int(b[5]) > len(b)-6 {
		return nil, false
	}
	return b[6 : 6+b[5]], true
}

// appendLongHeader appends a long header up to and including a two-byte
// Length field, which the caller fills in with setLength once the payload
// is known. It returns the buffer and the offset of the Length field.
// The first byte carries the packet type and the packet number length.
func appendLongHeader(b []byte, typ PacketType, dcid, scid, token []byte,
	pnLen int) ([]byte, int) {
	b = append(b, 0xc0|byte(typ)<<4|byte(pnLen-1))
	b = append(b, byte(Version1>>24), byte(Version1>>16), byte(Version1>>8),
		byte(Version1))
	b = append(b, byte(len(dcid)))
	b = append(b, dcid...)
	b = append(b, byte(len(scid)))
	b = append(b, scid...)
	if typ == PacketInitial {
		b = AppendVarint(b, uint64(len(token)))
		b = append(b, token...)
	}
	lenOff := len(b)
	b = append(b, 0x40, 0) // two-byte varint, filled in later
	return b, lenOff
}

// setLength writes n into the two-byte Length field at off.
func setLength(b []byte, off, n int) {
	b[off] = 0x40 | byte(n>>8)
	b[off+1] = byte(n)
}

// appendShortHeader appends a 1-RTT header: fixed bit, key phase and
// packet number length in the first byte, then the connection id.
func appendShortHeader(b []byte, dcid []byte, keyPhase bool, pnLen int) []byte {
	first := 0x40 | byte(pnLen-1)
	if keyPhase {
		first |= 0x04
	}
	b = append(b, first)
	return append(b, dcid...)
}

// pnLenFor returns how many bytes the packet number pn needs given the
// largest packet number the peer acknowledged (-1 for none), following
// RFC 9000, Appendix A.2: room for twice the unacknowledged range.
func pnLenFor(pn uint64, largestAcked int64) int {
	var unacked uint64
	if largestAcked < 0 {
		unacked = pn + 1
	} else {
		unacked = pn - uint64(largestAcked)
	}
	switch {
	case unacked < 1<<7:
		return 1
	case unacked < 1<<15:
		return 2
	case unacked < 1<<23:
		return 3
	default:
		return 4
	}
}

// appendPacketNumber appends the low n bytes of pn.
func appendPacketNumber(b []byte, pn uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(pn>>(8*i)))
	}
	return b
}

// decodePacketNumber expands a truncated packet number of nbits bits to
// the full number closest to largest+1 (RFC 9000, Appendix A.3). largest
// is -1 when no packet was processed yet in the space.
func decodePacketNumber(largest int64, truncated uint64, nbits uint) uint64 {
	expected := uint64(largest + 1)
	win := uint64(1) << nbits
	hwin := win / 2
	mask := win - 1
	candidate := expected&^mask | truncated
	if expected >= hwin && candidate <= expected-hwin &&
		candidate < (1<<62)-win {
		return candidate + win
	}
	if candidate > expected+hwin && candidate >= win {
		return candidate - win
	}
	return candidate
}

// appendVersionNegotiation appends a Version Negotiation packet answering
// a client that offered an unknown version: its connection ids swapped,
// and the versions this endpoint supports plus one reserved version of the
// 0x?a?a?a?a form to keep clients honest (RFC 9000, Sections 6 and 17.2.1).
func appendVersionNegotiation(b, dcid, scid []byte) []byte {
	var r [5]byte
	rand.Read(r[:])
	b = append(b, 0x80|0x40|r[0]&0x3f, 0, 0, 0, 0)
	b = append(b, byte(len(dcid)))
	b = append(b, dcid...)
	b = append(b, byte(len(scid)))
	b = append(b, scid...)
	grease := uint32(r[1])<<24 | uint32(r[2])<<16 | uint32(r[3])<<8 |
		uint32(r[4])
	grease = grease&0xf0f0f0f0 | 0x0a0a0a0a
	for _, v := range []uint32{Version1, grease} {
		b = append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return b
}

// newConnID returns a fresh random connection id.
func newConnID() []byte {
	id := make([]byte, connIDLen)
	rand.Read(id)
	return id
}
