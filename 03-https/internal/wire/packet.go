// Package wire names what crossed the link in chapter 3's demos, for their
// ladder diagrams: TCP flags, TLS records and handshake messages, QUIC
// packet types. It reassembles each TCP connection's byte stream and, with
// the secrets a KeyLog collected from the TLS stacks, decrypts TLS 1.3 and
// TLS 1.2 (AES-GCM) records the way Wireshark does with SSLKEYLOGFILE, so
// a ladder can say "{Finished}" or "[GET / HTTP/1.1]" instead of
// "encrypted record".
//
// The notation is RFC 8446's (Section 2): {braces} for messages protected
// with handshake traffic keys, [brackets] for application traffic keys and
// (parentheses) for 0-RTT early data keys. TLS 1.2 has no handshake keys:
// its Finished and application data are both in [brackets].
//
// It is a teaching aid, not a dissector: IPv4 only, TCP streams are
// reassembled from in-order and retransmitted segments with a bounded
// buffer for gaps, and anything it cannot follow is named by its size.
package wire

import (
	"encoding/binary"
	"time"
)

// Packet is one IPv4 packet seen on an emulated link, or, where no link
// carries the traffic (the loopback fallback), one write to a socket.
type Packet struct {
	At      time.Duration // when it was sent, since the capture began
	Up      bool          // from the client toward the server
	Dropped bool          // the link lost it
	// Data is the IPv4 packet, headers included, when Proto is empty.
	// When Proto is "tcp" or "udp", Data is what one write put on a
	// loopback socket, with no headers.
	Data  []byte
	Proto string
}

// Size is the packet's size on the wire: its IP length, or the bytes of a
// write.
func (p Packet) Size() int { return len(p.Data) }

// IP protocol numbers.
const (
	protoTCP = 6
	protoUDP = 17
)

// TCP flags.
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagPSH = 0x08
	flagACK = 0x10
)

// segment is a packet's transport layer.
type segment struct {
	proto   int
	port    uint16 // the client's port: it names the connection
	flags   byte
	seq     uint32
	payload []byte
	raw     bool // from a write, not a packet: no flags, no sequence
	cookie  int  // TCP Fast Open option: 0 none, 1 cookie request, 2 cookie
}

// parse reads the transport layer of p, or reports false for anything
// else (fragments, other protocols, truncated headers).
func parse(p Packet) (segment, bool) {
	switch p.Proto {
	case "tcp":
		return segment{proto: protoTCP, payload: p.Data, raw: true}, true
	case "udp":
		return segment{proto: protoUDP, payload: p.Data, raw: true}, true
	}
	b := p.Data
	if len(b) < 20 || b[0]>>4 != 4 {
		return segment{}, false
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if ihl < 20 || total < ihl || total > len(b) {
		return segment{}, false
	}
	if binary.BigEndian.Uint16(b[6:8])&0x3fff != 0 {
		return segment{}, false // a fragment
	}
	b = b[ihl:total]
	s := segment{proto: int(p.Data[9])}
	switch s.proto {
	case protoTCP:
		if len(b) < 20 {
			return segment{}, false
		}
		off := int(b[12]>>4) * 4
		if off < 20 || off > len(b) {
			return segment{}, false
		}
		s.seq = binary.BigEndian.Uint32(b[4:8])
		s.flags = b[13]
		s.payload = b[off:]
		s.cookie = fastOpenOption(b[20:off])
		s.port = clientPort(b, p.Up)
	case protoUDP:
		if len(b) < 8 {
			return segment{}, false
		}
		s.payload = b[8:]
		s.port = clientPort(b, p.Up)
	default:
		return segment{}, false
	}
	return s, true
}

// clientPort is the source port of an upward packet, the destination port
// of a downward one.
func clientPort(transport []byte, up bool) uint16 {
	if up {
		return binary.BigEndian.Uint16(transport[0:2])
	}
	return binary.BigEndian.Uint16(transport[2:4])
}

// ClientPort returns the client's port of a TCP or UDP packet, or false
// for a write (which has no headers) or any other packet.
func ClientPort(p Packet) (int, bool) {
	if p.Proto != "" {
		return 0, false
	}
	s, ok := parse(p)
	return int(s.port), ok
}

// fastOpenOption finds the TCP Fast Open option (kind 34, RFC 7413
// Section 4.1.1) among TCP options: 1 for an empty one (a cookie
// request), 2 for one that carries a cookie, 0 for none.
func fastOpenOption(opts []byte) int {
	for len(opts) > 0 {
		switch kind := opts[0]; kind {
		case 0: // end of options
			return 0
		case 1: // no-operation
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || int(opts[1]) < 2 || int(opts[1]) > len(opts) {
			return 0
		}
		if opts[0] == 34 {
			if opts[1] == 2 {
				return 1
			}
			return 2
		}
		opts = opts[opts[1]:]
	}
	return 0
}
