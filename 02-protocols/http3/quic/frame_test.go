package quic

import (
	"errors"
	"testing"
)

func TestAckFrameRoundTrip(t *testing.T) {
	ranges := []ackRange{{100, 120}, {50, 60}, {10, 10}, {0, 5}}
	b := appendAck(nil, ranges, 7, 10)
	var f frame
	n, err := parseFrame(b, &f)
	if err != nil || n != len(b) {
		t.Fatalf("got n=%d err=%v", n, err)
	}
	if len(f.ackRanges) != len(ranges) || f.ackDelay != 7 {
		t.Fatalf("got %+v", f)
	}
	for i := range ranges {
		if f.ackRanges[i] != ranges[i] {
			t.Errorf("range %d: got %v, want %v", i, f.ackRanges[i], ranges[i])
		}
	}
}

func TestStreamFrameRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		off       uint64
		fin, last bool
	}{{0, false, false}, {1000, true, false}, {70000, false, true}} {
		b := appendStreamHeader(nil, 4, tc.off, 5, tc.fin, tc.last)
		b = append(b, "hello"...)
		var f frame
		n, err := parseFrame(b, &f)
		if err != nil || n != len(b) {
			t.Fatalf("got n=%d err=%v", n, err)
		}
		if f.streamID != 4 || f.offset != tc.off || string(f.data) != "hello" ||
			f.fin != tc.fin {
			t.Errorf("got %+v", f)
		}
	}
}

// TestMalformedFrames: each is a FRAME_ENCODING_ERROR.
func TestMalformedFrames(t *testing.T) {
	cases := map[string][]byte{
		"unknown type":            {0x21},
		"ack below zero":          {0x02, 0x05, 0x00, 0x00, 0x06},
		"ack gap below zero":      {0x02, 0x05, 0x00, 0x01, 0x01, 0x03, 0x00},
		"stream past 2^62":        {0x0e, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00},
		"stream length past end":  {0x0a, 0x00, 0x05, 'a'},
		"empty new token":         {0x07, 0x00},
		"max streams above 2^60":  {0x12, 0xd0, 0, 0, 0, 0, 0, 0, 1},
		"new cid length 0":        append([]byte{0x18, 0x01, 0x00, 0x00}, make([]byte, 16)...),
		"new cid retire > seq":    append([]byte{0x18, 0x01, 0x02, 0x01, 0xaa}, make([]byte, 16)...),
		"path challenge short":    {0x1a, 1, 2, 3},
		"close reason past end":   {0x1c, 0x00, 0x00, 0x05, 'a'},
		"truncated reset stream":  {0x04, 0x01},
		"truncated type":          {0x40},
		"crypto length past end":  {0x06, 0x00, 0x10, 'x'},
		"stream data blocked cut": {0x15, 0x01},
	}
	for name, b := range cases {
		var f frame
		_, err := parseFrame(b, &f)
		var te *TransportError
		if !errors.As(err, &te) || te.Code != FrameEncodingError {
			t.Errorf("%s: got %v, want FRAME_ENCODING_ERROR", name, err)
		}
	}
}

func TestFrameTypesPerPacketType(t *testing.T) {
	if allowedIn(frameTypeStream, PacketInitial) ||
		allowedIn(frameTypeConnCloseApp, PacketHandshake) ||
		allowedIn(frameTypeAck, Packet0RTT) ||
		allowedIn(frameTypeHandshakeDone, Packet0RTT) {
		t.Error("a forbidden frame type was allowed")
	}
	if !allowedIn(frameTypeCrypto, PacketInitial) ||
		!allowedIn(frameTypeStream, Packet0RTT) ||
		!allowedIn(frameTypeHandshakeDone, Packet1RTT) {
		t.Error("an allowed frame type was refused")
	}
}

func FuzzParseFrames(f *testing.F) {
	f.Add(appendAck(nil, []ackRange{{5, 9}, {0, 2}}, 3, 8))
	f.Add(append(appendStreamHeader(nil, 0, 10, 3, true, false), "abc"...))
	f.Add(appendNewConnectionID(nil, 1, 0, []byte{1, 2, 3, 4}, [16]byte{}))
	f.Add(appendConnectionClose(nil, false, 0x0a, 0x08, "reason"))
	f.Add([]byte{0x00, 0x00, 0x01, 0x1e})
	f.Fuzz(func(t *testing.T, b []byte) {
		var fr frame
		for len(b) > 0 {
			n, err := parseFrame(b, &fr)
			if err != nil {
				return
			}
			if n <= 0 || n > len(b) {
				t.Fatalf("parseFrame used %d of %d bytes", n, len(b))
			}
			_ = fr.String()
			b = b[n:]
		}
	})
}
