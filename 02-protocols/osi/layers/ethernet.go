package layers

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
)

// EtherTypes this package names.
const (
	EtherTypeIPv4 = 0x0800
	EtherTypeARP  = 0x0806
	EtherTypeIPv6 = 0x86dd
)

// EthernetLen is the length of an Ethernet II header.
const EthernetLen = 14

// Ethernet is an Ethernet II header.
type Ethernet struct {
	Dst, Src net.HardwareAddr
	Type     uint16
}

// ErrShort means the bytes end inside a header or before the length a
// header claims.
var ErrShort = errors.New("layers: truncated")

// Append appends the header to b.
func (e *Ethernet) Append(b []byte) ([]byte, error) {
	if len(e.Dst) != 6 || len(e.Src) != 6 {
		return b, fmt.Errorf("layers: hardware addresses of %d and %d bytes, want 6",
			len(e.Dst), len(e.Src))
	}
	b = append(append(b, e.Dst...), e.Src...)
	return binary.BigEndian.AppendUint16(b, e.Type), nil
}

// ParseEthernet decodes an Ethernet II header and returns it with the
// payload. The payload may end with padding up to the 60-byte minimum
// frame; the next layer's own length says where its data ends.
func ParseEthernet(b []byte) (Ethernet, []byte, error) {
	if len(b) < EthernetLen {
		return Ethernet{}, nil, fmt.Errorf("%w: %d bytes of an Ethernet header", ErrShort, len(b))
	}
	e := Ethernet{
		Dst:  net.HardwareAddr(append([]byte(nil), b[0:6]...)),
		Src:  net.HardwareAddr(append([]byte(nil), b[6:12]...)),
		Type: binary.BigEndian.Uint16(b[12:14]),
	}
	if e.Type < 0x0600 {
		return e, nil, fmt.Errorf("layers: an 802.3 length field (%d), not an EtherType", e.Type)
	}
	return e, b[EthernetLen:], nil
}
