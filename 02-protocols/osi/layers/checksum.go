package layers

import (
	"encoding/binary"
	"net/netip"
)

// Checksum returns the Internet checksum (RFC 1071) of b: the ones'
// complement of the ones' complement sum of its 16-bit big-endian words,
// an odd last byte padded with zero. Computed over data that includes a
// correct checksum field, it returns 0.
func Checksum(b []byte) uint16 { return ^fold(sum(0, b)) }

// sum adds b's 16-bit words to s without folding the carries.
func sum(s uint32, b []byte) uint32 {
	for len(b) >= 2 {
		s += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

// fold adds the carries back in until the sum fits 16 bits.
func fold(s uint32) uint16 {
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// pseudoSum is the sum of the IPv4 pseudo-header that TCP's and UDP's
// checksums cover (RFC 9293 section 3.1, figure 2): source and destination
// address, a zero byte, the protocol, and the segment's length.
func pseudoSum(src, dst netip.Addr, proto uint8, length int) uint32 {
	s4, d4 := src.As4(), dst.As4()
	s := sum(0, s4[:])
	s = sum(s, d4[:])
	return s + uint32(proto) + uint32(length)
}

// TransportChecksum returns the checksum of a TCP or UDP segment (header
// and data, with its checksum field as it is) under the IPv4
// pseudo-header. For a segment whose checksum field is correct it returns
// 0; with the field zeroed it returns the value to put there.
func TransportChecksum(src, dst netip.Addr, proto uint8, segment []byte) uint16 {
	return ^fold(sum(pseudoSum(src, dst, proto, len(segment)), segment))
}
