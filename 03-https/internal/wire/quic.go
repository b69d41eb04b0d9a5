package wire

import "fmt"

// quicPackets names the QUIC packets coalesced in one UDP datagram by
// their headers, which are not encrypted (RFC 9000 Section 17): long
// headers carry a type and a Length, so several fit in one datagram; a
// short header (1-RTT) runs to the datagram's end.
func quicPackets(b []byte) []string {
	var out []string
	for len(b) > 0 {
		first := b[0]
		if first&0x80 == 0 {
			return append(out, fmt.Sprintf("1-RTT, %d B", len(b)))
		}
		if len(b) < 7 {
			return append(out, "truncated QUIC packet")
		}
		if b[1]|b[2]|b[3]|b[4] == 0 {
			return append(out, "Version Negotiation")
		}
		typ := (first >> 4) & 3
		if typ == 3 {
			return append(out, "Retry")
		}
		off := 5
		for range 2 { // destination, then source connection ID
			if off >= len(b) {
				return append(out, "truncated QUIC packet")
			}
			off += 1 + int(b[off])
		}
		if off > len(b) {
			return append(out, "truncated QUIC packet")
		}
		if typ == 0 { // Initial: a token
			n, k := varint(b[off:])
			if k == 0 || off+k+int(n) > len(b) {
				return append(out, "truncated QUIC packet")
			}
			off += k + int(n)
		}
		n, k := varint(b[off:])
		end := off + k + int(n)
		if k == 0 || n > uint64(len(b)) || end > len(b) {
			return append(out, "truncated QUIC packet")
		}
		name := [...]string{"Initial", "0-RTT", "Handshake"}[typ]
		out = append(out, fmt.Sprintf("%s, %d B", name, end))
		b = b[end:]
	}
	return out
}

// varint decodes a QUIC variable-length integer (RFC 9000 Section 16) and
// returns it with its length, or a length of 0 if b is too short.
func varint(b []byte) (uint64, int) {
	if len(b) == 0 {
		return 0, 0
	}
	n := 1 << (b[0] >> 6)
	if len(b) < n {
		return 0, 0
	}
	v := uint64(b[0] & 0x3f)
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
	}
	return v, n
}
