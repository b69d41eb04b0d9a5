package tlstap

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The ClientHello and ServerHello of RFC 8448 section 3, "Simple 1-RTT
// Handshake", as handshake messages (header included).
const (
	rfc8448ClientHello = `
01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2
1a 8d 99 12 ec 18 a2 ef 62 83 02 4d ec e7 00 00 06 13 01 13 03 13 02 01
00 00 91 00 00 00 0b 00 09 00 00 06 73 65 72 76 65 72 ff 01 00 01 00 00
0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00
23 00 00 00 33 00 26 00 24 00 1d 00 20 99 38 1d e5 60 e4 bd 43 d2 3d 8e
43 5a 7d ba fe b3 c0 6e 51 c1 3c ae 4d 54 13 69 1e 52 9a af 2c 00 2b 00
03 02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06
04 01 05 01 06 01 02 01 04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c
00 02 40 01`
	rfc8448ServerHello = `
02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c d3 4c 95 93 0c
8a c5 cb 14 34 da c1 55 77 2e d3 e2 69 28 00 13 01 00 00 2e 00 33 00 24
00 1d 00 20 c9 82 88 76 11 20 95 fe 66 76 2b db f7 c6 72 e1 56 d6 cc 25
3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 2b 00 02 03 04`
)

// record wraps a fragment in a record header.
func record(typ ContentType, version uint16, frag []byte) []byte {
	return append([]byte{byte(typ), byte(version >> 8), byte(version),
		byte(len(frag) >> 8), byte(len(frag))}, frag...)
}

func TestRFC8448Hellos(t *testing.T) {
	ch, sh := unhex(t, rfc8448ClientHello), unhex(t, rfc8448ServerHello)
	if len(ch) != 196 || len(sh) != 90 {
		t.Fatalf("got %d and %d bytes, want RFC 8448's 196 and 90", len(ch), len(sh))
	}
	var d Decoder
	recs, err := d.Feed(Client, record(Handshake, 0x0301, ch))
	if err != nil || len(recs) != 1 || len(recs[0].Messages) != 1 {
		t.Fatalf("ClientHello: got %v, %v", recs, err)
	}
	h := recs[0].Messages[0].Hello
	if h == nil {
		t.Fatal("ClientHello did not parse")
	}
	if h.ServerName != "server" || h.Version != tls.VersionTLS13 ||
		!slices.Equal(h.CipherSuites, []uint16{0x1301, 0x1303, 0x1302}) ||
		!slices.Equal(h.Groups, []tls.CurveID{tls.X25519}) || h.PSK {
		t.Errorf("ClientHello: got %+v", h)
	}
	recs, err = d.Feed(Server, record(Handshake, 0x0303, sh))
	if err != nil || len(recs) != 1 {
		t.Fatalf("ServerHello: got %v, %v", recs, err)
	}
	h = recs[0].Messages[0].Hello
	if h == nil || h.Retry || h.Version != tls.VersionTLS13 ||
		!slices.Equal(h.CipherSuites, []uint16{tls.TLS_AES_128_GCM_SHA256}) ||
		!slices.Equal(h.Groups, []tls.CurveID{tls.X25519}) {
		t.Errorf("ServerHello: got %+v", h)
	}
	if d.Version != tls.VersionTLS13 {
		t.Errorf("got negotiated version %#x, want 1.3", d.Version)
	}
	// After a 1.3 ServerHello the server's records are application_data.
	recs, _ = d.Feed(Server, record(ApplicationData, 0x0303, make([]byte, 40)))
	if len(recs) != 1 || !recs[0].Encrypted {
		t.Errorf("got %v, want one encrypted record", recs)
	}
}

// TestFragmentedAndCoalesced: handshake messages split across records and
// records split across reads still decode, once.
func TestFragmentedAndCoalesced(t *testing.T) {
	ch := unhex(t, rfc8448ClientHello)
	stream := append(record(Handshake, 0x0301, ch[:100]),
		record(Handshake, 0x0301, ch[100:])...)
	var d Decoder
	var all []Record
	for i := range stream {
		recs, err := d.Feed(Client, stream[i:i+1])
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, recs...)
	}
	if len(all) != 2 || len(all[0].Messages) != 0 || len(all[1].Messages) != 1 ||
		all[1].Messages[0].Hello.ServerName != "server" {
		t.Errorf("got %v, want the ClientHello to end in the second record", all)
	}
	// Two messages in one record.
	d = Decoder{}
	two := append(append([]byte(nil), ch...), ch...)
	recs, err := d.Feed(Client, record(Handshake, 0x0301, two))
	if err != nil || len(recs) != 1 || len(recs[0].Messages) != 2 {
		t.Errorf("got %v, %v; want two messages in one record", recs, err)
	}
}

func TestTLS12Encryption(t *testing.T) {
	var d Decoder
	// A TLS 1.2 ServerHello: no supported_versions extension.
	sh := []byte{2, 0, 0, 38, 3, 3}
	sh = append(sh, make([]byte, 32)...)
	sh = append(sh, 0, 0xc0, 0x2b, 0)
	if _, err := d.Feed(Server, record(Handshake, 0x0303, sh)); err != nil {
		t.Fatal(err)
	}
	if d.Version != tls.VersionTLS12 {
		t.Fatalf("got version %#x, want 1.2", d.Version)
	}
	recs, _ := d.Feed(Server, append(record(ChangeCipherSpec, 0x0303, []byte{1}),
		record(Handshake, 0x0303, make([]byte, 40))...))
	if len(recs) != 2 || recs[0].Encrypted || !recs[1].Encrypted ||
		len(recs[1].Messages) != 0 {
		t.Errorf("got %v, want CCS then an encrypted Finished", recs)
	}
}

func TestBounds(t *testing.T) {
	cases := []struct {
		name string
		b    []byte
	}{
		{"oversized record", []byte{22, 3, 3, 0xff, 0xff}},
		{"unknown type", []byte{99, 3, 3, 0, 1, 0}},
		{"not version 3", []byte{22, 4, 0, 0, 1, 0}},
		{"HTTP, not TLS", []byte("GET / HTTP/1.1\r\n")},
		{"oversized handshake message", record(Handshake, 0x0303, []byte{1, 0xff, 0xff, 0xff})},
	}
	for _, c := range cases {
		var d Decoder
		_, err := d.Feed(Client, c.b)
		if !errors.Is(err, ErrNotTLS) {
			t.Errorf("%s: got %v, want ErrNotTLS", c.name, err)
		}
		if _, err2 := d.Feed(Client, []byte{22}); !errors.Is(err2, ErrNotTLS) {
			t.Errorf("%s: the error did not stick: %v", c.name, err2)
		}
	}
}

// FuzzDecoder feeds arbitrary bytes, split at an arbitrary point and
// alternated between the sides: the decoder never panics, never reports a
// record longer than its limit, and never reads a hello it was not given.
func FuzzDecoder(f *testing.F) {
	ch := unhex(f, rfc8448ClientHello)
	sh := unhex(f, rfc8448ServerHello)
	f.Add(record(Handshake, 0x0301, ch), record(Handshake, 0x0303, sh), uint8(7))
	f.Add([]byte{22, 3, 3, 0, 4, 1, 0, 0, 0}, []byte{21, 3, 3, 0, 2, 2, 40}, uint8(0))
	f.Fuzz(func(t *testing.T, client, server []byte, cut uint8) {
		var d Decoder
		c := min(int(cut), len(client))
		for _, part := range []struct {
			side Side
			b    []byte
		}{{Client, client[:c]}, {Server, server}, {Client, client[c:]}} {
			recs, _ := d.Feed(part.side, part.b)
			for _, r := range recs {
				if r.Length > MaxRecord || len(r.Head) > r.Length {
					t.Fatalf("record %v with %d head bytes", r, len(r.Head))
				}
				for _, m := range r.Messages {
					if m.Length > MaxHandshake {
						t.Fatalf("message %v of %d bytes", m.Type, m.Length)
					}
				}
			}
		}
		if d.Version != 0 && !bytes.Contains(server, []byte{2}) {
			t.Fatalf("version %#x without a ServerHello", d.Version)
		}
	})
}
