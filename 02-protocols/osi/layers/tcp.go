package layers

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// TCP flags, the low byte of the flags field (RFC 9293 section 3.1).
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
	URG = 0x20
	ECE = 0x40
	CWR = 0x80
)

// TCPLen is the length of a TCP header without options.
const TCPLen = 20

// TCP is a TCP header.
type TCP struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	// Reserved holds the 4 bits after Data Offset: sent as zero (RFC 9293
	// section 3.1), kept as received.
	Reserved uint8
	Flags    uint8
	Window   uint16
	Checksum uint16 // Append computes it
	Urgent   uint16
	Options  []byte // a multiple of 4 bytes, at most 40
}

// HeaderLen is the header's length in bytes: Data Offset times four.
func (t *TCP) HeaderLen() int { return TCPLen + len(t.Options) }

// Append appends the header and data, computing the checksum under the
// IPv4 pseudo-header of src and dst.
func (t *TCP) Append(b []byte, src, dst netip.Addr, data []byte) ([]byte, error) {
	if len(t.Options)%4 != 0 || len(t.Options) > 40 {
		return b, fmt.Errorf("layers: %d bytes of TCP options", len(t.Options))
	}
	if !src.Is4() || !dst.Is4() {
		return b, fmt.Errorf("layers: %v -> %v is not IPv4", src, dst)
	}
	start := len(b)
	b = binary.BigEndian.AppendUint16(b, t.SrcPort)
	b = binary.BigEndian.AppendUint16(b, t.DstPort)
	b = binary.BigEndian.AppendUint32(b, t.Seq)
	b = binary.BigEndian.AppendUint32(b, t.Ack)
	b = append(b, byte(t.HeaderLen()/4)<<4|t.Reserved&0x0f, t.Flags)
	b = binary.BigEndian.AppendUint16(b, t.Window)
	b = append(b, 0, 0)
	b = binary.BigEndian.AppendUint16(b, t.Urgent)
	b = append(append(b, t.Options...), data...)
	t.Checksum = TransportChecksum(src, dst, ProtoTCP, b[start:])
	binary.BigEndian.PutUint16(b[start+16:], t.Checksum)
	return b, nil
}

// ParseTCP decodes a TCP header from a segment (header and data) and
// returns it with the data. It checks the lengths; VerifyTCP checks the
// checksum, which needs the IP addresses.
func ParseTCP(b []byte) (TCP, []byte, error) {
	if len(b) < TCPLen {
		return TCP{}, nil, fmt.Errorf("%w: %d bytes of a TCP header", ErrShort, len(b))
	}
	t := TCP{SrcPort: binary.BigEndian.Uint16(b[0:]),
		DstPort:  binary.BigEndian.Uint16(b[2:]),
		Seq:      binary.BigEndian.Uint32(b[4:]),
		Ack:      binary.BigEndian.Uint32(b[8:]),
		Reserved: b[12] & 0x0f,
		Flags:    b[13],
		Window:   binary.BigEndian.Uint16(b[14:]),
		Checksum: binary.BigEndian.Uint16(b[16:]),
		Urgent:   binary.BigEndian.Uint16(b[18:]),
	}
	off := int(b[12]>>4) * 4
	if off < TCPLen || off > len(b) {
		return t, nil, fmt.Errorf("layers: TCP data offset %d in a %d-byte segment",
			off, len(b))
	}
	if off > TCPLen {
		t.Options = append([]byte(nil), b[TCPLen:off]...)
	}
	return t, b[off:], nil
}

// VerifyTCP reports whether a segment's checksum is right for src and dst.
func VerifyTCP(src, dst netip.Addr, segment []byte) bool {
	return TransportChecksum(src, dst, ProtoTCP, segment) == 0
}

// FlagString names the set flags in bit order, as Wireshark does:
// "SYN|ACK", "PSH|ACK".
func FlagString(f uint8) string {
	names := []string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}
	var set []string
	for i, n := range names {
		if f&(1<<i) != 0 {
			set = append(set, n)
		}
	}
	if len(set) == 0 {
		return "none"
	}
	return strings.Join(set, "|")
}
