package earlytls

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// unhex reads the RFC's hex dumps, ignoring spaces and line breaks.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 8448 Section 3, "Simple 1-RTT Handshake": traffic secrets and the
// keys and IVs derived from them (TLS_AES_128_GCM_SHA256).
func TestTrafficKeysRFC8448(t *testing.T) {
	cases := []struct{ name, secret, key, iv string }{
		{"server handshake",
			"b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38",
			"3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc",
			"5d 31 3e b2 67 12 76 ee 13 00 0b 30"},
		{"client handshake",
			"b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21",
			"db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01",
			"5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f"},
	}
	for _, c := range cases {
		key, iv, err := TrafficKeys(tls.TLS_AES_128_GCM_SHA256, unhex(t, c.secret))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(key, unhex(t, c.key)) || !bytes.Equal(iv, unhex(t, c.iv)) {
			t.Errorf("%s: got key %x iv %x, want %s, %s", c.name, key, iv, c.key, c.iv)
		}
	}
}

// The protected records of RFC 8448 Section 3, with their keys, IVs and
// sequence numbers.
var rfc8448Records = []struct {
	name, key, iv string
	seq           uint64
	typ           ContentType
	record        string
	plainLen      int
}{
	{"client application data", "17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51",
		"5b 78 92 3d ee 08 57 90 33 e5 23 d9", 0, TypeApplicationData, `
		17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55
		cb ef ac ea 42 f9 14 aa 66 bc ab 3f 2b 98 19 a8 a5 b4 6b 39
		5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 97 70 14 bd
		1e 3d ea e6 3a ee bb 21 69 49 15 e4`, 50},
	// The server's first application-key record is its NewSessionTicket,
	// so its data goes at sequence number 1: the nonce's XOR matters.
	{"server application data", "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56",
		"cf 78 2b 88 dd 83 54 9a ad f1 e9 84", 1, TypeApplicationData, `
		17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4
		a4 69 32 fc 32 25 d0 5f 82 aa 1b 36 e3 0e fa f9 7d 90 e6 df
		fc 60 2d cb 50 1a 59 a8 fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2
		ab f3 32 54 0d d0 32 e1 67 c2 95 5d`, 50},
	{"client Finished", "db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01",
		"5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f", 0, TypeHandshake, `
		17 03 03 00 35 75 ec 4d c2 38 cc e6 0b 29 80 44 a7 1e 21 9c
		56 cc 77 b0 51 7f e9 b9 3c 7a 4b fc 44 d8 7f 38 f8 03 38 ac
		98 fc 46 de b3 84 bd 1c ae ac ab 68 67 d7 26 c4 05 46`, 36},
	{"server handshake flight", "3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc",
		"5d 31 3e b2 67 12 76 ee 13 00 0b 30", 0, TypeHandshake, `
		17 03 03 02 a2 d1 ff 33 4a 56 f5 bf f6 59 4a 07 cc 87 b5 80 23 3f 50 0f
		45 e4 89 e7 f3 3a f3 5e df 78 69 fc f4 0a a4 0a a2 b8 ea 73 f8 48 a7 ca
		07 61 2e f9 f9 45 cb 96 0b 40 68 90 51 23 ea 78 b1 11 b4 29 ba 91 91 cd
		05 d2 a3 89 28 0f 52 61 34 aa dc 7f c7 8c 4b 72 9d f8 28 b5 ec f7 b1 3b
		d9 ae fb 0e 57 f2 71 58 5b 8e a9 bb 35 5c 7c 79 02 07 16 cf b9 b1 18 3e
		f3 ab 20 e3 7d 57 a6 b9 d7 47 76 09 ae e6 e1 22 a4 cf 51 42 73 25 25 0c
		7d 0e 50 92 89 44 4c 9b 3a 64 8f 1d 71 03 5d 2e d6 5b 0e 3c dd 0c ba e8
		bf 2d 0b 22 78 12 cb b3 60 98 72 55 cc 74 41 10 c4 53 ba a4 fc d6 10 92
		8d 80 98 10 e4 b7 ed 1a 8f d9 91 f0 6a a6 24 82 04 79 7e 36 a6 a7 3b 70
		a2 55 9c 09 ea d6 86 94 5b a2 46 ab 66 e5 ed d8 04 4b 4c 6d e3 fc f2 a8
		94 41 ac 66 27 2f d8 fb 33 0e f8 19 05 79 b3 68 45 96 c9 60 bd 59 6e ea
		52 0a 56 a8 d6 50 f5 63 aa d2 74 09 96 0d ca 63 d3 e6 88 61 1e a5 e2 2f
		44 15 cf 95 38 d5 1a 20 0c 27 03 42 72 96 8a 26 4e d6 54 0c 84 83 8d 89
		f7 2c 24 46 1a ad 6d 26 f5 9e ca ba 9a cb bb 31 7b 66 d9 02 f4 f2 92 a3
		6a c1 b6 39 c6 37 ce 34 31 17 b6 59 62 22 45 31 7b 49 ee da 0c 62 58 f1
		00 d7 d9 61 ff b1 38 64 7e 92 ea 33 0f ae ea 6d fa 31 c7 a8 4d c3 bd 7e
		1b 7a 6c 71 78 af 36 87 90 18 e3 f2 52 10 7f 24 3d 24 3d c7 33 9d 56 84
		c8 b0 37 8b f3 02 44 da 8c 87 c8 43 f5 e5 6e b4 c5 e8 28 0a 2b 48 05 2c
		f9 3b 16 49 9a 66 db 7c ca 71 e4 59 94 26 f7 d4 61 e6 6f 99 88 2b d8 9f
		c5 08 00 be cc a6 2d 6c 74 11 6d bd 29 72 fd a1 fa 80 f8 5d f8 81 ed be
		5a 37 66 89 36 b3 35 58 3b 59 91 86 dc 5c 69 18 a3 96 fa 48 a1 81 d6 b6
		fa 4f 9d 62 d5 13 af bb 99 2f 2b 99 2f 67 f8 af e6 7f 76 91 3f a3 88 cb
		56 30 c8 ca 01 e0 c6 5d 11 c6 6a 1e 2a c4 c8 59 77 b7 c7 a6 99 9b bf 10
		dc 35 ae 69 f5 51 56 14 63 6c 0b 9b 68 c1 9e d2 e3 1c 0b 3b 66 76 30 38
		eb ba 42 f3 b3 8e dc 03 99 f3 a9 f2 3f aa 63 97 8c 31 7f c9 fa 66 a7 3f
		60 f0 50 4d e9 3b 5b 84 5e 27 55 92 c1 23 35 ee 34 0b bc 4f dd d5 02 78
		40 16 e4 b3 be 7e f0 4d da 49 f4 b4 40 a3 0c b5 d2 af 93 98 28 fd 4a e3
		79 4e 44 f9 4d f5 a6 31 ed e4 2c 17 19 bf da bf 02 53 fe 51 75 be 89 8e
		75 0e dc 53 37 0d 2b`, 657},
}

// TestRecordsRFC8448 opens each record of the trace and seals its content
// back into the same bytes.
func TestRecordsRFC8448(t *testing.T) {
	for _, c := range rfc8448Records {
		t.Run(c.name, func(t *testing.T) {
			wire := unhex(t, c.record)
			rec, n, err := ParseRecord(wire)
			if err != nil || n != len(wire) {
				t.Fatalf("ParseRecord: got %d of %d bytes, %v", n, len(wire), err)
			}
			open, err := newProtector(unhex(t, c.key), unhex(t, c.iv))
			if err != nil {
				t.Fatal(err)
			}
			open.seq = c.seq
			typ, content, err := open.Open(rec)
			if err != nil {
				t.Fatal(err)
			}
			if typ != c.typ || len(content) != c.plainLen {
				t.Fatalf("got %s with %d bytes, want %s with %d", typ, len(content),
					c.typ, c.plainLen)
			}
			if c.typ == TypeApplicationData {
				for i, b := range content { // the trace sends 00 01 02 ... 31
					if b != byte(i) {
						t.Fatalf("got content %x, want 00 01 02 ...", content)
					}
				}
			}
			seal, _ := newProtector(unhex(t, c.key), unhex(t, c.iv))
			seal.seq = c.seq
			got, err := seal.Seal(nil, typ, append([]byte(nil), content...))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, wire) {
				t.Errorf("sealed again: got %x, want the RFC's bytes", got)
			}
			if open.Seq() != c.seq+1 {
				t.Errorf("got sequence %d after opening, want %d", open.Seq(), c.seq+1)
			}
		})
	}
}

// TestOpenFailsCleanly checks that a record under the wrong key or at the
// wrong sequence number fails, leaving the protector and the record as
// they were, so the record can be tried under another key.
func TestOpenFailsCleanly(t *testing.T) {
	c := rfc8448Records[0]
	wire := unhex(t, c.record)
	rec, _, _ := ParseRecord(wire)
	kept := append([]byte(nil), wire...)
	wrongSeq, _ := newProtector(unhex(t, c.key), unhex(t, c.iv))
	wrongSeq.seq = 1
	wrongKey, _ := newProtector(unhex(t, rfc8448Records[1].key), unhex(t, c.iv))
	for name, p := range map[string]*Protector{"sequence": wrongSeq, "key": wrongKey} {
		before := p.Seq()
		if _, _, err := p.Open(rec); !errors.Is(err, alertBadRecordMAC) {
			t.Errorf("wrong %s: got %v, want bad_record_mac", name, err)
		}
		if p.Seq() != before || !bytes.Equal(wire, kept) {
			t.Errorf("wrong %s: the failure changed the sequence or the record", name)
		}
	}
	right, _ := newProtector(unhex(t, c.key), unhex(t, c.iv))
	if _, _, err := right.Open(rec); err != nil {
		t.Errorf("right key after failures: %v", err)
	}
}

func TestParseRecord(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		n    int
		err  error
	}{
		{"short header", []byte{22, 3, 3, 0}, 0, nil},
		{"short body", []byte{22, 3, 3, 0, 2, 1}, 0, nil},
		{"handshake", []byte{22, 3, 1, 0, 1, 9, 99}, 6, nil},
		{"unknown type", []byte{24, 3, 3, 0, 1, 0}, 0, alertUnexpectedMessage},
		{"bad version", []byte{22, 2, 0, 0, 1, 0}, 0, alertProtocolVersion},
		{"empty handshake", []byte{22, 3, 3, 0, 0}, 0, alertUnexpectedMessage},
		{"plaintext too long", []byte{22, 3, 3, 0x40, 0x01}, 0, alertRecordOverflow},
		{"ciphertext too long", []byte{23, 3, 3, 0x41, 0x01}, 0, alertRecordOverflow},
		{"ciphertext at the limit", []byte{23, 3, 3, 0x41, 0x00}, 0, nil},
		{"empty application data", []byte{23, 3, 3, 0, 0}, 5, nil},
	}
	for _, c := range cases {
		_, n, err := ParseRecord(c.in)
		if n != c.n || !errors.Is(err, c.err) {
			t.Errorf("%s: got %d, %v; want %d, %v", c.name, n, err, c.n, c.err)
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	f.Add([]byte{22, 3, 1, 0, 1, 9})
	f.Add(unhex(f, rfc8448Records[0].record))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, n, err := ParseRecord(b)
		if err != nil || n == 0 {
			return
		}
		if n > len(b) || n != HeaderLen+len(rec.Fragment) ||
			len(rec.Fragment) > MaxCiphertext {
			t.Fatalf("got a record of %d bytes from %d", n, len(b))
		}
	})
}

// FuzzOpen feeds any record to a protector: it must fail or open, never
// panic, and never return more than a record may hold.
func FuzzOpen(f *testing.F) {
	c := rfc8448Records[2]
	f.Add(unhex(f, c.record))
	f.Add([]byte{23, 3, 3, 0, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, n, err := ParseRecord(b)
		if err != nil || n == 0 {
			return
		}
		p, _ := newProtector(unhex(t, c.key), unhex(t, c.iv))
		if _, content, err := p.Open(rec); err == nil && len(content) > MaxPlaintext {
			t.Fatalf("got %d bytes of content", len(content))
		}
	})
}
