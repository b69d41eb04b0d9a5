package layers

import (
	"errors"
	"fmt"
)

// Frame is an Ethernet frame carrying an IPv4 packet carrying a TCP
// segment.
type Frame struct {
	Eth     Ethernet
	IP      IPv4
	TCP     TCP
	Payload []byte
}

// Build returns the frame's bytes, filling in IPv4's total length and both
// checksums from the headers' other fields.
func (f *Frame) Build() ([]byte, error) {
	b, err := f.Eth.Append(nil)
	if err != nil {
		return nil, err
	}
	seg, err := f.TCP.Append(nil, f.IP.Src, f.IP.Dst, f.Payload)
	if err != nil {
		return nil, err
	}
	f.IP.Protocol = ProtoTCP
	if b, err = f.IP.Append(b, len(seg)); err != nil {
		return nil, err
	}
	return append(b, seg...), nil
}

// ErrNotTCP means a frame that is not TCP over IPv4 over Ethernet.
var ErrNotTCP = errors.New("layers: not TCP over IPv4")

// Decode parses an Ethernet frame down to the TCP data, checking the IPv4
// and TCP checksums. A frame of another kind is ErrNotTCP.
func Decode(b []byte) (*Frame, error) {
	f := &Frame{}
	var err error
	var pkt, seg []byte
	if f.Eth, pkt, err = ParseEthernet(b); err != nil {
		return f, err
	}
	if f.Eth.Type != EtherTypeIPv4 {
		return f, fmt.Errorf("%w: EtherType %#04x", ErrNotTCP, f.Eth.Type)
	}
	if f.IP, seg, err = ParseIPv4(pkt); err != nil {
		return f, err
	}
	if f.IP.Protocol != ProtoTCP || f.IP.FragOff != 0 || f.IP.Flags&FlagMF != 0 {
		return f, fmt.Errorf("%w: protocol %d, fragment offset %d", ErrNotTCP,
			f.IP.Protocol, f.IP.FragOff)
	}
	if f.TCP, f.Payload, err = ParseTCP(seg); err != nil {
		return f, err
	}
	if !VerifyTCP(f.IP.Src, f.IP.Dst, seg) {
		return f, fmt.Errorf("layers: bad TCP checksum %#04x", f.TCP.Checksum)
	}
	return f, nil
}
