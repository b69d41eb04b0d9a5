package layers

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// IPv4 flags, the top three bits of the 16-bit flags and fragment field.
const (
	FlagDF = 0x2 // don't fragment
	FlagMF = 0x1 // more fragments
)

// ProtoTCP, ProtoUDP and ProtoICMP are IPv4 protocol numbers.
const (
	ProtoICMP = 1
	ProtoTCP  = 6
	ProtoUDP  = 17
)

// IPv4Len is the length of an IPv4 header without options.
const IPv4Len = 20

// IPv4 is an IPv4 header (RFC 791 section 3.1).
type IPv4 struct {
	TOS      uint8
	TotalLen uint16 // header and data; Append fills it in
	ID       uint16
	Flags    uint8  // 3 bits: FlagDF, FlagMF
	FragOff  uint16 // 13 bits, in 8-byte units
	TTL      uint8
	Protocol uint8
	Checksum uint16 // Append computes it
	Src, Dst netip.Addr
	Options  []byte // a multiple of 4 bytes, at most 40
}

// HeaderLen is the header's length in bytes: IHL times four.
func (h *IPv4) HeaderLen() int { return IPv4Len + len(h.Options) }

// Append appends the header for a payload of payloadLen bytes, setting
// TotalLen and Checksum.
func (h *IPv4) Append(b []byte, payloadLen int) ([]byte, error) {
	if len(h.Options)%4 != 0 || len(h.Options) > 40 {
		return b, fmt.Errorf("layers: %d bytes of IPv4 options", len(h.Options))
	}
	if !h.Src.Is4() || !h.Dst.Is4() {
		return b, fmt.Errorf("layers: %v -> %v is not IPv4", h.Src, h.Dst)
	}
	total := h.HeaderLen() + payloadLen
	if total > 0xffff {
		return b, fmt.Errorf("layers: IPv4 packet of %d bytes", total)
	}
	h.TotalLen = uint16(total)
	start := len(b)
	b = append(b, byte(4<<4|h.HeaderLen()/4), h.TOS)
	b = binary.BigEndian.AppendUint16(b, h.TotalLen)
	b = binary.BigEndian.AppendUint16(b, h.ID)
	b = binary.BigEndian.AppendUint16(b, uint16(h.Flags)<<13|h.FragOff&0x1fff)
	b = append(b, h.TTL, h.Protocol, 0, 0)
	s, d := h.Src.As4(), h.Dst.As4()
	b = append(append(append(b, s[:]...), d[:]...), h.Options...)
	h.Checksum = Checksum(b[start:])
	binary.BigEndian.PutUint16(b[start+10:], h.Checksum)
	return b, nil
}

// ParseIPv4 decodes an IPv4 header and returns it with the packet's
// payload, cut at Total Length (so Ethernet padding is dropped). It checks
// the version, the lengths and the header checksum.
func ParseIPv4(b []byte) (IPv4, []byte, error) {
	if len(b) < IPv4Len {
		return IPv4{}, nil, fmt.Errorf("%w: %d bytes of an IPv4 header", ErrShort, len(b))
	}
	if v := b[0] >> 4; v != 4 {
		return IPv4{}, nil, fmt.Errorf("layers: IP version %d, want 4", v)
	}
	hl := int(b[0]&0x0f) * 4
	h := IPv4{TOS: b[1], TotalLen: binary.BigEndian.Uint16(b[2:]),
		ID:       binary.BigEndian.Uint16(b[4:]),
		Flags:    b[6] >> 5,
		FragOff:  binary.BigEndian.Uint16(b[6:]) & 0x1fff,
		TTL:      b[8],
		Protocol: b[9],
		Checksum: binary.BigEndian.Uint16(b[10:]),
		Src:      netip.AddrFrom4([4]byte(b[12:16])),
		Dst:      netip.AddrFrom4([4]byte(b[16:20])),
	}
	switch {
	case hl < IPv4Len:
		return h, nil, fmt.Errorf("layers: IHL of %d bytes", hl)
	case int(h.TotalLen) < hl:
		return h, nil, fmt.Errorf("layers: total length %d under the header's %d",
			h.TotalLen, hl)
	case len(b) < int(h.TotalLen):
		return h, nil, fmt.Errorf("%w: %d of %d IPv4 bytes", ErrShort, len(b), h.TotalLen)
	}
	if hl > IPv4Len {
		h.Options = append([]byte(nil), b[IPv4Len:hl]...)
	}
	if c := Checksum(b[:hl]); c != 0 {
		return h, nil, fmt.Errorf("layers: bad IPv4 header checksum %#04x", h.Checksum)
	}
	return h, b[hl:h.TotalLen], nil
}
