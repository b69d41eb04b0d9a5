package wire

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// tcpPacket builds an IPv4 TCP packet from client port 40000 (up) or to
// it (down), with options opts (padded to 4 bytes).
func tcpPacket(up bool, seq uint32, flags byte, opts, payload []byte) Packet {
	for len(opts)%4 != 0 {
		opts = append(opts, 1) // no-operation
	}
	tcp := make([]byte, 20+len(opts))
	sport, dport := uint16(40000), uint16(443)
	if !up {
		sport, dport = dport, sport
	}
	binary.BigEndian.PutUint16(tcp[0:], sport)
	binary.BigEndian.PutUint16(tcp[2:], dport)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	tcp[12] = byte(len(tcp)/4) << 4
	tcp[13] = flags
	copy(tcp[20:], opts)
	ip := make([]byte, 20)
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(tcp)+len(payload)))
	ip[9] = protoTCP
	return Packet{Up: up, Data: append(append(ip, tcp...), payload...)}
}

func TestStreamPutsSegmentsInOrder(t *testing.T) {
	var s stream
	add := func(seq uint32, flags byte, data string) string {
		return string(s.add(segment{seq: seq, flags: flags, payload: []byte(data)}))
	}
	if got := add(99, flagSYN, "ab"); got != "ab" { // data in the SYN
		t.Fatalf("SYN data: got %q", got)
	}
	if got := add(104, flagACK, "ef"); got != "" { // a gap
		t.Fatalf("beyond a gap: got %q", got)
	}
	if got := add(100, flagACK, "abc"); got != "c" { // overlap: only c is new
		t.Fatalf("overlap: got %q", got)
	}
	if got := add(103, flagACK, "d"); got != "def" { // fills the gap
		t.Fatalf("gap filled: got %q, want def", got)
	}
	if got := add(100, flagACK, "abcdef"); got != "" { // a retransmission
		t.Fatalf("retransmission: got %q", got)
	}
}

func TestFastOpenOption(t *testing.T) {
	cases := []struct {
		opts []byte
		want int
	}{
		{[]byte{2, 4, 5, 0xb4, 34, 2}, 1},                 // MSS, then a cookie request
		{[]byte{1, 1, 34, 10, 1, 2, 3, 4, 5, 6, 7, 8}, 2}, // a cookie
		{[]byte{2, 4, 5, 0xb4, 0, 34, 2}, 0},              // after end of options
		{[]byte{34}, 0},                                   // truncated
		{[]byte{8, 200}, 0},                               // length past the end
	}
	for _, c := range cases {
		if got := fastOpenOption(c.opts); got != c.want {
			t.Errorf("options %x: got %d, want %d", c.opts, got, c.want)
		}
	}
}

func TestDescribeHandshakeFlags(t *testing.T) {
	pkts := []Packet{
		tcpPacket(true, 1000, flagSYN, []byte{34, 2}, nil),
		tcpPacket(false, 5000, flagSYN|flagACK, []byte{34, 10, 1, 2, 3, 4, 5, 6, 7, 8}, nil),
		tcpPacket(true, 1001, flagACK, nil, nil),
		tcpPacket(false, 5001, flagACK, nil, nil), // a bare ACK after: quiet
		tcpPacket(true, 1001, flagACK|flagPSH, nil, []byte{22, 3, 1, 0, 4, 1, 0, 0, 0}),
	}
	var got []string
	for _, m := range Describe(pkts, nil) {
		if !m.Quiet {
			got = append(got, m.Text)
		}
	}
	want := []string{"SYN + Fast Open cookie request", "SYN-ACK + Fast Open cookie",
		"ACK", "ClientHello"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d: got %q, want %q", i, got[i], want[i])
		}
	}
}

func TestQUICPackets(t *testing.T) {
	// An Initial (token length 0, Length 3) and a Handshake (Length 2)
	// coalesced, then a short-header packet in its own datagram.
	initial := []byte{0xc0, 0, 0, 0, 1, 1, 0xaa, 0, 0, 3, 1, 2, 3}
	handshake := []byte{0xe0, 0, 0, 0, 1, 1, 0xaa, 0, 2, 1, 2}
	got := quicPackets(append(append([]byte(nil), initial...), handshake...))
	want := []string{"Initial, 13 B", "Handshake, 11 B"}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := quicPackets([]byte{0x40, 1, 2, 3}); len(got) != 1 || got[0] != "1-RTT, 4 B" {
		t.Errorf("short header: got %q", got)
	}
	if got := quicPackets(initial[:9]); got[len(got)-1] != "truncated QUIC packet" {
		t.Errorf("truncated: got %q", got)
	}
}

// FuzzDescribe feeds Describe any packet: it must name it, never panic.
func FuzzDescribe(f *testing.F) {
	f.Add(tcpPacket(true, 1, flagSYN, []byte{34, 2}, []byte{22, 3, 1, 0, 4, 1, 0, 0, 0}).Data, true)
	f.Add(tcpPacket(false, 1, flagACK, nil, []byte{23, 3, 3, 0, 20}).Data, false)
	f.Add(append([]byte{0x45, 0, 0, 40, 0, 0, 0, 0, 64, 17}, bytes.Repeat([]byte{0xc0}, 30)...), true)
	f.Fuzz(func(t *testing.T, b []byte, up bool) {
		pkts := []Packet{{Up: up, Data: b}, {Up: !up, Data: b}, {Up: up, Data: b}}
		if ms := Describe(pkts, NewKeyLog(nil)); len(ms) < len(pkts) {
			t.Fatalf("got %d messages for %d packets", len(ms), len(pkts))
		}
		FirstFlight(pkts)
		FirstDatagrams(pkts)
	})
}

func TestFirstDatagrams(t *testing.T) {
	udp := func(up bool, payload string) Packet {
		ip := make([]byte, 28)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(28+len(payload)))
		ip[9] = protoUDP
		return Packet{Up: up, Data: append(ip, payload...)}
	}
	got := FirstDatagrams([]Packet{udp(true, "initial"), udp(true, "0-rtt"),
		udp(false, "answer"), udp(true, "later")})
	if len(got) != 2 || string(got[0]) != "initial" || string(got[1]) != "0-rtt" {
		t.Errorf("got %q, want the two datagrams before the answer", got)
	}
}
