package layers

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/net/ipv4"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestChecksumRFC1071 uses the numerical example of RFC 1071 section 3:
// the words 0001 f203 f4f5 f6f7 sum to ddf2, so the checksum is 220d.
func TestChecksumRFC1071(t *testing.T) {
	b := unhex(t, "00 01 f2 03 f4 f5 f6 f7")
	if got := Checksum(b); got != 0x220d {
		t.Errorf("got %#04x, want 0x220d", got)
	}
	// With the checksum appended, the sum checks to zero.
	if got := Checksum(append(b, 0x22, 0x0d)); got != 0 {
		t.Errorf("verifying: got %#04x, want 0", got)
	}
	// An odd length pads with a zero byte.
	if got, want := Checksum([]byte{0xab}), ^uint16(0xab00); got != want {
		t.Errorf("odd length: got %#04x, want %#04x", got, want)
	}
}

func sampleFrame() *Frame {
	return &Frame{
		Eth: Ethernet{Dst: net.HardwareAddr{2, 0, 0, 0, 0, 2},
			Src: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Type: EtherTypeIPv4},
		IP: IPv4{ID: 0x1c46, Flags: FlagDF, TTL: 64,
			Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")},
		TCP: TCP{SrcPort: 40000, DstPort: 80, Seq: 1000, Ack: 2000, Flags: PSH | ACK,
			Window: 502, Options: []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}},
		Payload: []byte("GET / HTTP/1.1\r\nHost: 10.0.0.2\r\n\r\n"),
	}
}

func TestBuildAndDecode(t *testing.T) {
	f := sampleFrame()
	b, err := f.Build()
	if err != nil {
		t.Fatal(err)
	}
	want := EthernetLen + IPv4Len + TCPLen + 12 + len(f.Payload)
	if len(b) != want || int(f.IP.TotalLen) != want-EthernetLen {
		t.Fatalf("got %d bytes, total length %d; want %d", len(b), f.IP.TotalLen, want)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.TCP.Checksum != f.TCP.Checksum || got.IP.Checksum != f.IP.Checksum ||
		got.TCP.Seq != 1000 || got.TCP.Flags != PSH|ACK ||
		!bytes.Equal(got.Payload, f.Payload) || got.IP.Src != f.IP.Src {
		t.Errorf("got %+v, want %+v", got, f)
	}
	if s := OptionString(got.TCP.Options); s != "NOP,NOP,TS val 1 ecr 2" {
		t.Errorf("got options %q", s)
	}
	// Ethernet padding after the IP packet is not data.
	padded := append(append([]byte(nil), b...), 0, 0, 0, 0)
	if got, err := Decode(padded); err != nil || !bytes.Equal(got.Payload, f.Payload) {
		t.Errorf("padded: got %q, %v", got.Payload, err)
	}
	// Any flipped bit in the headers breaks a checksum or a check.
	for i := EthernetLen; i < len(b); i++ {
		bad := append([]byte(nil), b...)
		bad[i] ^= 0x04
		if _, err := Decode(bad); err == nil {
			t.Errorf("byte %d flipped: decoded without an error", i)
		}
	}
}

// TestIPv4AgainstXNet compares the IPv4 header with golang.org/x/net/ipv4,
// an independent implementation, both ways.
func TestIPv4AgainstXNet(t *testing.T) {
	h := IPv4{TOS: 0x10, ID: 4711, Flags: FlagDF, TTL: 63, Protocol: ProtoUDP,
		Src: netip.MustParseAddr("192.168.0.1"), Dst: netip.MustParseAddr("192.168.0.199")}
	b, err := h.Append(nil, 8)
	if err != nil {
		t.Fatal(err)
	}
	x, err := ipv4.ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if x.Version != 4 || x.Len != 20 || x.TOS != 0x10 || x.TotalLen != 28 ||
		x.ID != 4711 || x.Flags != ipv4.DontFragment || x.TTL != 63 ||
		x.Protocol != ProtoUDP || x.Checksum != int(h.Checksum) ||
		!x.Src.Equal(net.IPv4(192, 168, 0, 1)) || !x.Dst.Equal(net.IPv4(192, 168, 0, 199)) {
		t.Errorf("x/net/ipv4 read %+v", x)
	}
	xb, err := x.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(xb, b) {
		t.Errorf("x/net/ipv4 wrote % x, we wrote % x", xb, b)
	}
	// The classic example header: 4500 0073 0000 4000 4011 b861 c0a8 0001
	// c0a8 00c7, whose checksum is b861.
	ex := unhex(t, "4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7")
	ex = append(ex, make([]byte, 0x73-20)...)
	p, _, err := ParseIPv4(ex)
	if err != nil || p.Checksum != 0xb861 || p.Protocol != ProtoUDP || p.TTL != 64 {
		t.Errorf("got %+v, %v", p, err)
	}
}

func TestParseRejects(t *testing.T) {
	good, _ := sampleFrame().Build()
	ip := good[EthernetLen:]
	cases := []struct {
		name string
		f    func() error
	}{
		{"short Ethernet", func() error { _, _, err := ParseEthernet(good[:13]); return err }},
		{"802.3 length", func() error {
			_, _, err := ParseEthernet([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 46})
			return err
		}},
		{"IPv6", func() error {
			b := append([]byte(nil), ip...)
			b[0] = 0x65
			_, _, err := ParseIPv4(b)
			return err
		}},
		{"IHL 4", func() error {
			b := append([]byte(nil), ip...)
			b[0] = 0x44
			_, _, err := ParseIPv4(b)
			return err
		}},
		{"total length past the bytes", func() error {
			_, _, err := ParseIPv4(ip[:len(ip)-1])
			return err
		}},
		{"data offset past the segment", func() error {
			_, _, err := ParseTCP([]byte{0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0,
				0, 0, 0, 0, 0, 0, 0})
			return err
		}},
	}
	for _, c := range cases {
		if err := c.f(); err == nil {
			t.Errorf("%s: got no error", c.name)
		}
	}
	if _, _, err := ParseIPv4(ip[:10]); !errors.Is(err, ErrShort) {
		t.Errorf("got %v, want ErrShort", err)
	}
}

func TestDump(t *testing.T) {
	f := sampleFrame()
	b, _ := f.Build()
	var sb strings.Builder
	Dump(&sb, b, f.Sections())
	// Compare with the columns' spacing squeezed out.
	var lines []string
	for l := range strings.Lines(sb.String()) {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	out := strings.Join(lines, "\n")
	for _, want := range []string{
		"0000 02 00 00 00 00 02 destination: 02:00:00:00:00:02",
		"000c 08 00 EtherType: 0x0800 IPv4",
		"000e 45 version, IHL: 4, 5 words = 20 bytes",
		"0022 9c 40 source port: 40000",
		"002f 18 flags: PSH|ACK",
		"0042 47 45 54 20 2f 20 48 54 GET / HT",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dump lacks %q:\n%s", want, out)
		}
	}
}

// FuzzDecode: the decoder never panics, and a frame it accepts is built
// again, byte for byte, from the headers it decoded.
func FuzzDecode(f *testing.F) {
	b, _ := sampleFrame().Build()
	f.Add(b)
	f.Add(b[:40])
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := Decode(b)
		if err != nil {
			return
		}
		again, err := fr.Build()
		if err != nil {
			t.Fatalf("decoded %+v, which does not build: %v", fr, err)
		}
		n := EthernetLen + int(fr.IP.TotalLen)
		if !bytes.Equal(again, b[:n]) {
			t.Fatalf("rebuilt\n% x\nfrom\n% x", again, b[:n])
		}
	})
}
