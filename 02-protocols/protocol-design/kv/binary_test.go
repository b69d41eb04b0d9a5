package kv

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// The wire format's own examples, byte for byte, as doc.go draws them.
var vectors = []struct {
	name string
	m    Message
	hex  string
}{
	{"v1 get", Message{Version: 1, Type: Get, ID: 7, Key: "k"},
		"01 01 00 00 00000007 00000003 0001 6b"},
	{"v1 set", Message{Version: 1, Type: Set, ID: 8, Key: "k", Value: []byte("hi")},
		"01 02 00 00 00000008 00000005 0001 6b 6869"},
	{"v2 set with ttl", Message{Version: 2, Type: Set, ID: 9, Key: "k",
		TTL: 1500 * time.Millisecond, Value: []byte("hi")},
		"02 02 00 00 00000009 00000009 0001 6b 000005dc 6869"},
	{"v2 get has no ttl", Message{Version: 2, Type: Get, ID: 1, Key: "k"},
		"02 01 00 00 00000001 00000003 0001 6b"},
	{"get reply", Message{Version: 1, Type: Get.Reply(), ID: 7, Value: []byte("v")},
		"01 81 00 00 00000007 00000003 0000 76"},
	{"not found", Message{Version: 1, Type: Get.Reply(), Status: StatusNotFound, ID: 7},
		"01 81 01 00 00000007 00000002 0000"},
	{"refusing an unknown type", Message{Version: 1, Type: 0x85,
		Status: StatusBadRequest, ID: 3}, "01 85 02 00 00000003 00000002 0000"},
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			want := unhex(t, v.hex)
			got, err := v.m.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("encode: got % x, want % x", got, want)
			}
			if n := v.m.BinaryLen(); n != len(want) {
				t.Errorf("BinaryLen: got %d, want %d", n, len(want))
			}
			m, n, err := Decode(want)
			if err != nil || n != len(want) {
				t.Fatalf("decode: got n=%d, %v; want %d, nil", n, err, len(want))
			}
			if m.String() != v.m.String() {
				t.Errorf("decode: got %v, want %v", m, v.m)
			}
		})
	}
}

// TestIndependentDecoder reads a frame with encoding/binary's reflection
// over a packed struct, an implementation of the header layout that shares
// no code with this package.
func TestIndependentDecoder(t *testing.T) {
	m := Message{Version: 2, Type: Set, ID: 0xdeadbeef, Key: "user:42",
		TTL: time.Minute, Value: []byte("Ada Lovelace")}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var hdr struct {
		Version, Type, Status, Reserved uint8
		ID, Length                      uint32
		KeyLen                          uint16
	}
	r := bytes.NewReader(b)
	if err := binary.Read(r, binary.BigEndian, &hdr); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, hdr.KeyLen)
	r.Read(key)
	var ttl uint32
	binary.Read(r, binary.BigEndian, &ttl)
	rest := make([]byte, r.Len())
	r.Read(rest)
	if hdr.Version != 2 || hdr.Type != 2 || hdr.ID != 0xdeadbeef ||
		int(hdr.Length) != len(b)-HeaderLen || string(key) != "user:42" ||
		ttl != 60000 || string(rest) != "Ada Lovelace" {
		t.Errorf("got %+v key=%q ttl=%d value=%q", hdr, key, ttl, rest)
	}
}

func TestPartialFrames(t *testing.T) {
	m := Message{Version: 1, Type: Set, ID: 1, Key: "k", Value: []byte("value")}
	b, _ := m.MarshalBinary()
	for i := range len(b) {
		_, need, err := Decode(b[:i])
		if !errors.Is(err, ErrShort) {
			t.Fatalf("%d bytes: got %v, want ErrShort", i, err)
		}
		want := len(b)
		if i < HeaderLen {
			want = HeaderLen
		}
		if need != want {
			t.Errorf("%d bytes: got need %d, want %d", i, need, want)
		}
	}
	// Two frames back to back: Decode takes exactly the first.
	two := append(append([]byte(nil), b...), b...)
	if _, n, err := Decode(two); err != nil || n != len(b) {
		t.Errorf("got n=%d, %v; want %d", n, err, len(b))
	}
}

func TestDecodeRejects(t *testing.T) {
	cases := []struct {
		name  string
		hex   string
		want  error
		frame bool // a *FrameError: the stream survives
	}{
		{"body over MaxBody", "01 01 00 00 00000001 7fffffff", ErrTooLarge, false},
		{"version 3", "03 01 00 00 00000001 00000003 0001 6b", ErrVersion, true},
		{"version 0", "00 01 00 00 00000001 00000003 0001 6b", ErrVersion, true},
		{"unknown request type", "01 07 00 00 00000001 00000002 0000", ErrMalformed, true},
		{"status in a request", "01 01 01 00 00000001 00000002 0000", ErrMalformed, true},
		{"unknown status", "01 81 09 00 00000001 00000002 0000", ErrMalformed, true},
		{"no key length", "01 01 00 00 00000001 00000001 00", ErrMalformed, true},
		{"key past body", "01 01 00 00 00000001 00000003 0005 6b", ErrMalformed, true},
		{"key over MaxKey", "01 01 00 00 00000001 00000002 ffff", ErrTooLarge, true},
		{"v2 set without ttl", "02 02 00 00 00000001 00000004 0001 6b 00", ErrMalformed, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Decode(unhex(t, c.hex))
			if !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
			var fe *FrameError
			if errors.As(err, &fe) != c.frame {
				t.Errorf("got FrameError %v, want %v", fe != nil, c.frame)
			}
			if fe != nil && fe.Header.ID != 1 {
				t.Errorf("got id %d in the FrameError, want 1", fe.Header.ID)
			}
		})
	}
}

func TestEncodeRefuses(t *testing.T) {
	cases := []struct {
		name string
		m    Message
		want error
	}{
		{"version 3", Message{Version: 3, Type: Get}, ErrVersion},
		{"key too long", Message{Version: 1, Type: Get,
			Key: strings.Repeat("k", MaxKey+1)}, ErrTooLarge},
		{"value too long", Message{Version: 1, Type: Set,
			Value: make([]byte, MaxValue+1)}, ErrTooLarge},
		{"ttl in v1", Message{Version: 1, Type: Set, TTL: time.Second}, ErrMalformed},
		{"ttl in a get", Message{Version: 2, Type: Get, TTL: time.Second}, ErrMalformed},
		{"ttl not in ms", Message{Version: 2, Type: Set, TTL: time.Microsecond}, ErrMalformed},
		{"unknown type", Message{Version: 1, Type: 9}, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := c.m.MarshalBinary(); !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}
}

// FuzzDecode feeds arbitrary bytes to the binary decoder: it must never
// panic, never claim more bytes than it was given, and whatever it
// accepts must encode back to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, v := range vectors {
		f.Add(unhex(f, v.hex))
	}
	f.Add([]byte{1, 1, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, n, err := Decode(b)
		if n > len(b) && !errors.Is(err, ErrShort) {
			t.Fatalf("n=%d for %d bytes with %v", n, len(b), err)
		}
		if err != nil {
			return
		}
		got, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %v, which does not encode: %v", m, err)
		}
		// The reserved byte is ignored on receipt and sent as zero.
		want := append([]byte(nil), b[:n]...)
		want[3] = 0
		if !bytes.Equal(got, want) {
			t.Fatalf("round trip: got % x, want % x", got, want)
		}
	})
}
