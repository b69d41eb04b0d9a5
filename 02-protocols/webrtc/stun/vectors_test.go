package stun

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// unhex reads a hex dump as RFC 5769 prints it, ignoring spaces.
func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// RFC 5769 section 2.1.
var sampleRequest = unhex(`
00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
00 24 00 04 6e 00 01 ff
80 29 00 08 93 2f f9 b1 51 26 3b 36
00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
80 28 00 04 e5 7a 3b cf`)

// RFC 5769 section 2.2.
var sampleIPv4Response = unhex(`
01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
00 20 00 08 00 01 a1 47 e1 12 a6 43
00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
80 28 00 04 c0 7d 4c 96`)

// RFC 5769 section 2.3.
var sampleIPv6Response = unhex(`
01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
80 28 00 04 c8 fb 0b 4c`)

// RFC 5769 section 2.4.
var sampleLongTerm = unhex(`
00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66`)

const vectorPassword = "VOkJxbRl1RmTxUk/WvJxBt"

func TestRFC5769Vectors(t *testing.T) {
	cases := []struct {
		name        string
		raw         []byte
		key         []byte
		fingerprint bool
		typ         Type
		check       func(t *testing.T, m *Message)
	}{
		{"request", sampleRequest, ShortTermKey(vectorPassword), true, BindingRequest,
			func(t *testing.T, m *Message) {
				if u, _ := m.Text(AttrUsername); u != "evtj:h6vY" {
					t.Errorf("got username %q", u)
				}
				if s, _ := m.Text(AttrSoftware); s != "STUN test client" {
					t.Errorf("got software %q", s)
				}
				if u := m.UnknownRequired(); len(u) != 0 {
					t.Errorf("got unknown required attributes %v (PRIORITY is ICE's)", u)
				}
			}},
		{"IPv4 response", sampleIPv4Response, ShortTermKey(vectorPassword), true, BindingSuccess,
			func(t *testing.T, m *Message) {
				got, err := m.XORMappedAddress()
				if want := netip.MustParseAddrPort("192.0.2.1:32853"); err != nil || got != want {
					t.Errorf("got %v, %v; want %v", got, err, want)
				}
			}},
		{"IPv6 response", sampleIPv6Response, ShortTermKey(vectorPassword), true, BindingSuccess,
			func(t *testing.T, m *Message) {
				got, err := m.XORMappedAddress()
				want := netip.MustParseAddrPort("[2001:db8:1234:5678:11:2233:4455:6677]:32853")
				if err != nil || got != want {
					t.Errorf("got %v, %v; want %v", got, err, want)
				}
			}},
		{"long-term request", sampleLongTerm,
			LongTermKey("\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9", "example.org", "TheMatrIX"),
			false, BindingRequest,
			func(t *testing.T, m *Message) {
				if r, _ := m.Text(AttrRealm); r != "example.org" {
					t.Errorf("got realm %q", r)
				}
				if n, _ := m.Text(AttrNonce); n != "f//499k954d6OL34oL9FSTvy64sA" {
					t.Errorf("got nonce %q", n)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Decode(c.raw)
			if err != nil {
				t.Fatal(err)
			}
			if m.Type != c.typ {
				t.Errorf("got type %v, want %v", m.Type, c.typ)
			}
			if err := m.CheckIntegrity(c.key); err != nil {
				t.Error(err)
			}
			if err := m.CheckIntegrity([]byte("wrong")); !errors.Is(err, ErrIntegrity) {
				t.Errorf("wrong key: got %v, want ErrIntegrity", err)
			}
			if c.fingerprint {
				if err := m.CheckFingerprint(); err != nil {
					t.Error(err)
				}
			}
			c.check(t, m)
			if got := m.Encode(); !bytes.Equal(got, c.raw) {
				t.Errorf("re-encoded differently:\n got %x\nwant %x", got, c.raw)
			}
		})
	}
}

// TestBuildVectors builds the IPv4 response from its parts, with zero
// padding where the vector has spaces, and checks integrity and
// fingerprint are computed, not copied.
func TestBuildVectors(t *testing.T) {
	want, _ := Decode(sampleIPv4Response)
	m := &Message{Type: BindingSuccess, TransactionID: want.TransactionID}
	m.Attributes = append(m.Attributes, Attribute{Type: AttrSoftware,
		Value: []byte("test vector"), Pad: []byte(" ")})
	m.AddXORMappedAddress(netip.MustParseAddrPort("192.0.2.1:32853"))
	m.AddIntegrity(ShortTermKey(vectorPassword))
	m.AddFingerprint()
	if got := m.Encode(); !bytes.Equal(got, sampleIPv4Response) {
		t.Errorf("built:\n got %x\nwant %x", got, sampleIPv4Response)
	}
	// With zero padding (what an encoder must send) the checks still pass.
	m = &Message{Type: BindingSuccess, TransactionID: want.TransactionID}
	m.AddText(AttrSoftware, "test vector")
	m.AddXORMappedAddress(netip.MustParseAddrPort("[2001:db8::1]:3478"))
	m.AddIntegritySHA256(ShortTermKey("pw"))
	m.AddFingerprint()
	back, err := Decode(m.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if err := back.CheckIntegrity(ShortTermKey("pw")); err != nil {
		t.Error(err)
	}
	if err := back.CheckFingerprint(); err != nil {
		t.Error(err)
	}
}

func TestTypeBits(t *testing.T) {
	cases := map[Type]uint16{BindingRequest: 0x0001, BindingSuccess: 0x0101,
		BindingError: 0x0111, BindingIndication: 0x0011,
		{Method(0xFFF), ClassError}: 0x3FFF}
	for typ, want := range cases {
		if got := typ.Value(); got != want {
			t.Errorf("%v: got 0x%04x, want 0x%04x", typ, got, want)
		}
		if back := typeFromValue(want); back != typ {
			t.Errorf("0x%04x decodes to %v, want %v", want, back, typ)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	good := append([]byte(nil), sampleIPv4Response...)
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := map[string][]byte{
		"short":          good[:19],
		"top bits set":   mutate(func(b []byte) []byte { b[0] |= 0x80; return b }),
		"bad cookie":     mutate(func(b []byte) []byte { b[4] ^= 1; return b }),
		"length not /4":  mutate(func(b []byte) []byte { b[3]++; return b }),
		"length too big": mutate(func(b []byte) []byte { b[3] += 4; return b }),
		"attr overruns":  mutate(func(b []byte) []byte { b[23] = 0xFF; return b }),
		"huge":           make([]byte, MaxMessage+4),
	}
	for name, b := range cases {
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: got no error", name)
		}
	}
	// A flipped bit in a protected part fails integrity or fingerprint.
	b := mutate(func(b []byte) []byte { b[30] ^= 1; return b })
	m, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.CheckIntegrity(ShortTermKey(vectorPassword)) == nil || m.CheckFingerprint() == nil {
		t.Error("a corrupted message passed its checks")
	}
}

func TestErrorCodeAndUnknown(t *testing.T) {
	m := &Message{Type: BindingError, TransactionID: NewTransactionID()}
	m.AddErrorCode(420, "Unknown Attribute")
	m.AddUnknownAttributes([]AttrType{0x0033, 0x7000, 0x0044})
	back, err := Decode(m.Encode())
	if err != nil {
		t.Fatal(err)
	}
	ec, err := back.ErrorCode()
	if err != nil || ec.Code != 420 || ec.Reason != "Unknown Attribute" {
		t.Errorf("got %v, %v", ec, err)
	}
	u, err := back.UnknownAttributes()
	if err != nil || len(u) != 3 || u[1] != 0x7000 {
		t.Errorf("got %v, %v", u, err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, v := range [][]byte{sampleRequest, sampleIPv4Response, sampleIPv6Response, sampleLongTerm} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to the same bytes, and every
		// accessor returns an error or a value, never a panic.
		if got := m.Encode(); !bytes.Equal(got, b) {
			t.Fatalf("re-encoded %x as %x", b, got)
		}
		m.XORMappedAddress()
		m.MappedAddress()
		m.ErrorCode()
		m.UnknownAttributes()
		m.Text(AttrUsername)
		m.CheckIntegrity([]byte("k"))
		m.CheckFingerprint()
		m.UnknownRequired()
		m.Priority()
		m.ICERole()
	})
}
