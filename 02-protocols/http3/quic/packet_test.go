package quic

import (
	"bytes"
	"testing"
)

func TestLongHeaderRoundTrip(t *testing.T) {
	dcid, scid := []byte{1, 2, 3, 4, 5, 6, 7, 8}, []byte{9, 9}
	b, lenOff := appendLongHeader(nil, PacketHandshake, dcid, scid, nil, 2)
	pnOff := len(b)
	b = appendPacketNumber(b, 0x1234, 2)
	b = append(b, make([]byte, 30)...)
	setLength(b, lenOff, len(b)-pnOff)
	b = append(b, 0xff) // a coalesced packet would start here
	h, err := parseHeader(b, 8)
	if err != nil {
		t.Fatal(err)
	}
	if h.typ != PacketHandshake || !bytes.Equal(h.dcid, dcid) ||
		!bytes.Equal(h.scid, scid) || h.pnOffset != pnOff ||
		h.end != len(b)-1 {
		t.Errorf("got %+v", h)
	}
}

func TestInitialHeaderWithToken(t *testing.T) {
	b, lenOff := appendLongHeader(nil, PacketInitial, []byte{1}, nil,
		[]byte("tok"), 1)
	pnOff := len(b)
	b = append(b, 0, 0, 0, 0, 0)
	setLength(b, lenOff, len(b)-pnOff)
	h, err := parseHeader(b, 8)
	if err != nil {
		t.Fatal(err)
	}
	if string(h.token) != "tok" || h.pnOffset != pnOff {
		t.Errorf("got %+v", h)
	}
}

func TestVersionNegotiation(t *testing.T) {
	b := appendVersionNegotiation(nil, []byte{1, 2}, []byte{3})
	h, err := parseHeader(b, 8)
	if err != nil {
		t.Fatal(err)
	}
	if h.typ != PacketVersionNegotiation || len(h.versions) != 2 ||
		h.versions[0] != Version1 || h.versions[1]&0x0f0f0f0f != 0x0a0a0a0a {
		t.Errorf("got %+v", h)
	}
	if !bytes.Equal(h.dcid, []byte{1, 2}) || !bytes.Equal(h.scid, []byte{3}) {
		t.Errorf("got ids %x %x", h.dcid, h.scid)
	}
	if b[0]&0x80 == 0 {
		t.Errorf("got first byte %#x, want the long-header bit", b[0])
	}
}

func TestUnknownVersionKeepsIDs(t *testing.T) {
	b := []byte{0xc0, 0x1a, 0x2a, 0x3a, 0x4a, 2, 7, 7, 1, 5}
	h, err := parseHeader(b, 8)
	if err != errUnsupportedVersion {
		t.Fatalf("got %v, want errUnsupportedVersion", err)
	}
	if !bytes.Equal(h.dcid, []byte{7, 7}) || !bytes.Equal(h.scid, []byte{5}) {
		t.Errorf("got ids %x %x", h.dcid, h.scid)
	}
}

func TestHostileHeaders(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		{0x40},                             // short header without id
		{0xc0, 0, 0, 0, 1, 21},             // id longer than 20
		{0xc0, 0, 0, 0, 1, 0, 0, 0x44},     // length varint runs out
		{0xc0, 0, 0, 0, 1, 0, 0, 0x80, 1},  // token length too big
		{0xd0, 0, 0, 0, 1, 0, 0, 0x10},     // length 16 with no bytes
		{0x80, 0, 0, 0, 1, 0, 0, 0, 1, 0},  // fixed bit clear
		{0xe0, 0, 0, 0, 1, 0, 0, 5, 2, 3},  // Handshake, length too big
		{0xf0, 0, 0, 0, 1, 0, 0, 1, 2, 3},  // Retry without a tag
		{0xc0, 0, 0, 0, 1, 30, 1, 2, 3, 4}, // id runs past the end
	} {
		if _, err := parseHeader(b, 8); err == nil {
			t.Errorf("%x: got no error", b)
		}
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add(unhex(f, rfcClientPacket), 8)
	f.Add(unhex(f, rfcServerPacket), 8)
	f.Add(unhex(f, rfcRetryPacket), 8)
	f.Add(appendVersionNegotiation(nil, []byte{1}, []byte{2}), 0)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		n = min(max(n, 0), 20)
		h, err := parseHeader(b, n)
		if err != nil {
			return
		}
		if h.end > len(b) || h.pnOffset > h.end {
			t.Fatalf("header %+v past %d bytes", h, len(b))
		}
		// Unprotecting a fuzzed packet must fail cleanly, never panic.
		if h.typ == PacketInitial || h.typ == PacketHandshake ||
			h.typ == Packet1RTT {
			_, open := initialKeys([]byte{1, 2, 3, 4}, true)
			p := append([]byte(nil), b[:h.end]...)
			pnLen, trunc, err := open.unprotectHeader(p, h.pnOffset)
			if err != nil {
				return
			}
			open.open(p, h.pnOffset+pnLen, decodePacketNumber(-1, trunc,
				uint(8*pnLen)))
		}
	})
}
