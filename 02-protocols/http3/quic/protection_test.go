package quic

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rfcDCID is the client's destination connection id in RFC 9001,
// Appendix A.
const rfcDCID = "8394c8f03e515708"

// TestInitialSecretsRFC9001 checks the key schedule of Appendix A.1.
func TestInitialSecretsRFC9001(t *testing.T) {
	c, s := initialSecrets(unhex(t, rfcDCID))
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"client_initial_secret", c,
			"c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea"},
		{"client key", hkdfExpandLabel(sha256.New, c, "quic key", 16),
			"1f369613dd76d5467730efcbe3b1a22d"},
		{"client iv", hkdfExpandLabel(sha256.New, c, "quic iv", 12),
			"fa044b2f42a3fd3b46fb255c"},
		{"client hp", hkdfExpandLabel(sha256.New, c, "quic hp", 16),
			"9f50449e04a0e810283a1e9933adedd2"},
		{"server_initial_secret", s,
			"3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b"},
		{"server key", hkdfExpandLabel(sha256.New, s, "quic key", 16),
			"cf3a5331653c364c88f0f379b6067e37"},
		{"server iv", hkdfExpandLabel(sha256.New, s, "quic iv", 12),
			"0ac1493ca1905853b0bba03e"},
		{"server hp", hkdfExpandLabel(sha256.New, s, "quic hp", 16),
			"c206b8d9b9f0f37644430b490eeaa314"},
	}
	for _, tc := range cases {
		if got := hex.EncodeToString(tc.got); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestChaCha20KeyScheduleRFC9001 checks the derivation of Appendix A.5.
// The engine refuses the suite itself (ErrChaCha20) because the standard
// library has no ChaCha20, but the HKDF labels are the same for every
// suite, so the vector still checks them.
func TestChaCha20KeyScheduleRFC9001(t *testing.T) {
	secret := unhex(t, "9ac312a7f877468ebe69422748ad00a1"+
		"5443f18203a07d6060f688f30f21632b")
	cases := []struct {
		label string
		n     int
		want  string
	}{
		{"quic key", 32, "c6d98ff3441c3fe1b2182094f69caa2ed4b716b65488960a7a984979fb23e1c8"},
		{"quic iv", 12, "e0459b3474bdd0e44a41c144"},
		{"quic hp", 32, "25a282b9e82f06f21f488917a4fc8f1b73573685608597d0efcb076b0ab7a7a4"},
		{"quic ku", 32, "1223504755036d556342ee9361d253421a826c9ecdf3c7148684b36b714881f9"},
	}
	for _, tc := range cases {
		got := hex.EncodeToString(hkdfExpandLabel(sha256.New, secret, tc.label, tc.n))
		if got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.label, got, tc.want)
		}
	}
	// The nonce for packet number 654360564 is the IV XORed with it.
	k := &keys{}
	copy(k.iv[:], unhex(t, "e0459b3474bdd0e44a41c144"))
	if got := hex.EncodeToString(k.nonceFor(654360564)); got != "e0459b3474bdd0e46d417eb0" {
		t.Errorf("nonce: got %s, want e0459b3474bdd0e46d417eb0", got)
	}
	if _, err := suiteByID(0x1303); !errors.Is(err, ErrChaCha20) {
		t.Errorf("suite 0x1303: got %v, want ErrChaCha20", err)
	}
}

// TestClientInitialRFC9001 protects the client Initial of Appendix A.2
// and compares it byte for byte, then unprotects the published packet.
func TestClientInitialRFC9001(t *testing.T) {
	dcid := unhex(t, rfcDCID)
	seal, _ := initialKeys(dcid, false)
	hdr := unhex(t, "c300000001088394c8f03e5157080000449e00000002")
	payload := unhex(t, rfcClientPayload)
	payload = append(payload, make([]byte, 1162-len(payload))...)
	b := append(append([]byte{}, hdr...), payload...)
	b = append(b, make([]byte, aeadTagLen)...)[:len(hdr)+len(payload)]
	got := seal.protect(b, len(hdr)-4, 4, 2)
	want := unhex(t, rfcClientPacket)
	if !bytes.Equal(got, want) {
		t.Fatalf("protected client Initial differs:\ngot  %x\nwant %x",
			got[:64], want[:64])
	}

	// The server side opens it.
	_, open := initialKeys(dcid, true)
	checkOpen(t, open, want, dcid, 2, payload)
}

// TestServerInitialRFC9001 does the same for the server Initial of
// Appendix A.3 (a 2-byte packet number, no padding).
func TestServerInitialRFC9001(t *testing.T) {
	dcid := unhex(t, rfcDCID)
	seal, open := initialKeys(dcid, true)
	_ = open
	hdr := unhex(t, "c1000000010008f067a5502a4262b50040750001")
	payload := unhex(t, rfcServerPayload)
	b := append(append([]byte{}, hdr...), payload...)
	b = append(b, make([]byte, aeadTagLen)...)[:len(hdr)+len(payload)]
	got := seal.protect(b, len(hdr)-2, 2, 1)
	want := unhex(t, rfcServerPacket)
	if !bytes.Equal(got, want) {
		t.Fatalf("protected server Initial:\ngot  %x\nwant %x", got, want)
	}
	_, clientOpen := initialKeys(dcid, false)
	checkOpen(t, clientOpen, want, nil, 1, payload)
}

// checkOpen parses and unprotects a published packet and compares the
// packet number and the plaintext.
func checkOpen(t *testing.T, k *keys, pkt, wantDCID []byte, wantPN uint64,
	wantPayload []byte) {
	t.Helper()
	p := append([]byte(nil), pkt...)
	h, err := parseHeader(p, connIDLen)
	if err != nil {
		t.Fatal(err)
	}
	if h.typ != PacketInitial || !bytes.Equal(h.dcid, wantDCID) ||
		h.end != len(p) {
		t.Fatalf("got header %+v", h)
	}
	pnLen, trunc, err := k.unprotectHeader(p[:h.end], h.pnOffset)
	if err != nil {
		t.Fatal(err)
	}
	pn := decodePacketNumber(-1, trunc, uint(8*pnLen))
	if pn != wantPN {
		t.Errorf("got packet number %d, want %d", pn, wantPN)
	}
	plain, err := k.open(p[:h.end], h.pnOffset+pnLen, pn)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(plain, wantPayload) {
		t.Errorf("opened payload differs")
	}
	// A flipped ciphertext bit fails authentication.
	q := append([]byte(nil), pkt...)
	q[len(q)-1] ^= 1
	pnLen, trunc, _ = k.unprotectHeader(q, h.pnOffset)
	pn = decodePacketNumber(-1, trunc, uint(8*pnLen))
	if _, err := k.open(q, h.pnOffset+pnLen, pn); !errors.Is(err, errDecrypt) {
		t.Errorf("tampered packet: got %v, want errDecrypt", err)
	}
}

// TestRetryRFC9001 rebuilds the Retry packet of Appendix A.4 and checks
// its integrity tag.
func TestRetryRFC9001(t *testing.T) {
	want := unhex(t, rfcRetryPacket)
	h, err := parseHeader(want, connIDLen)
	if err != nil {
		t.Fatal(err)
	}
	if h.typ != PacketRetry || string(h.token) != "token" {
		t.Fatalf("got Retry header %+v, want token %q", h, "token")
	}
	tag := retryTag(unhex(t, rfcDCID), want[:len(want)-16])
	if !bytes.Equal(tag, want[len(want)-16:]) {
		t.Errorf("got tag %x, want %x", tag, want[len(want)-16:])
	}
	// appendRetry with the same first byte reproduces the packet: the
	// RFC's unused bits are 0xf, ours are random-free zero, so patch it.
	got := appendRetry(nil, nil, h.scid, unhex(t, rfcDCID), h.token)
	got[0] = want[0]
	got = append(got[:len(got)-16], retryTag(unhex(t, rfcDCID), got[:len(got)-16])...)
	if !bytes.Equal(got, want) {
		t.Errorf("got Retry %x, want %x", got, want)
	}
}

func TestPacketNumbersRFC9000(t *testing.T) {
	// Appendix A.3's example.
	if got := decodePacketNumber(0xa82f30ea, 0x9b32, 16); got != 0xa82f9b32 {
		t.Errorf("got %#x, want 0xa82f9b32", got)
	}
	// Appendix A.2's examples: 0xac5c02 after an ACK of 0xabe8b3 needs
	// 16 bits, 0xace8fe needs 24.
	if n := pnLenFor(0xac5c02, 0xabe8b3); n != 2 {
		t.Errorf("got %d bytes for 0xac5c02, want 2", n)
	}
	if n := pnLenFor(0xace8fe, 0xabe8b3); n != 3 {
		t.Errorf("got %d bytes for 0xace8fe, want 3", n)
	}
	// Round trips near wrap points of the truncated encodings.
	for _, largest := range []int64{-1, 0, 200, 255, 256, 65534, 1 << 20} {
		for d := uint64(1); d < 100; d++ {
			pn := uint64(largest+1) + d - 1
			n := pnLenFor(pn, largest-1)
			trunc := pn & (1<<(8*n) - 1)
			if got := decodePacketNumber(largest, trunc, uint(8*n)); got != pn {
				t.Fatalf("largest %d pn %d len %d: got %d", largest, pn, n, got)
			}
		}
	}
}

func TestKeyUpdateKeepsHeaderKey(t *testing.T) {
	k, err := newKeys(suiteAES128, bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	n, err := k.next()
	if err != nil {
		t.Fatal(err)
	}
	if n.hp != k.hp || bytes.Equal(n.secret, k.secret) || n.iv == k.iv {
		t.Errorf("next phase: want same hp, new secret and iv")
	}
}
