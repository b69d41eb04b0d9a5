package quic

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"errors"
	"hash"
)

// initialSalt is the salt of the Initial secrets for QUIC version 1
// (RFC 9001, Section 5.2).
var initialSalt = []byte{
	0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
	0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
}

// aeadTagLen is the length of the AES-GCM authentication tag.
const aeadTagLen = 16

// sampleLen is the length of the header protection sample.
const sampleLen = 16

// cipherSuite is a TLS 1.3 cipher suite as QUIC packet protection uses it.
type cipherSuite struct {
	id     uint16
	hash   func() hash.Hash
	keyLen int
}

var (
	suiteAES128 = &cipherSuite{tls.TLS_AES_128_GCM_SHA256, sha256.New, 16}
	suiteAES256 = &cipherSuite{tls.TLS_AES_256_GCM_SHA384, sha512.New384, 32}
)

// suiteByID returns the suite for a TLS cipher suite id. ChaCha20-Poly1305
// is refused with ErrChaCha20: see doc.go.
func suiteByID(id uint16) (*cipherSuite, error) {
	switch id {
	case tls.TLS_AES_128_GCM_SHA256:
		return suiteAES128, nil
	case tls.TLS_AES_256_GCM_SHA384:
		return suiteAES256, nil
	case tls.TLS_CHACHA20_POLY1305_SHA256:
		return nil, ErrChaCha20
	}
	return nil, errors.New("quic: unknown TLS cipher suite")
}

// hkdfExpandLabel is TLS 1.3's HKDF-Expand-Label (RFC 8446, Section 7.1)
// with an empty context, the only form QUIC uses:
//
//	struct {
//	    uint16 length = Length;
//	    opaque label<7..255> = "tls13 " + Label;
//	    opaque context<0..255> = "";
//	} HkdfLabel;
func hkdfExpandLabel(h func() hash.Hash, secret []byte, label string, n int) []byte {
	info := make([]byte, 0, 4+6+len(label))
	info = append(info, byte(n>>8), byte(n), byte(6+len(label)))
	info = append(info, "tls13 "...)
	info = append(info, label...)
	info = append(info, 0)
	out, err := hkdf.Expand(h, secret, string(info), n)
	if err != nil {
		panic(err) // only for n > 255*hash size, which QUIC never asks
	}
	return out
}

// initialSecrets derives the client and server Initial secrets from the
// client's first destination connection id (RFC 9001, Section 5.2).
func initialSecrets(dcid []byte) (client, server []byte) {
	initial, err := hkdf.Extract(sha256.New, dcid, initialSalt)
	if err != nil {
		panic(err)
	}
	client = hkdfExpandLabel(sha256.New, initial, "client in", 32)
	server = hkdfExpandLabel(sha256.New, initial, "server in", 32)
	return client, server
}

// keys protects or unprotects the packets of one direction at one
// encryption level: the AEAD with its IV for the payload, and the header
// protection key. For 1-RTT, secret is kept for key updates.
type keys struct {
	suite  *cipherSuite
	secret []byte
	aead   cipher.AEAD
	iv     [12]byte
	hp     cipher.Block
	nonce  [12]byte // scratch
	mbuf   [16]byte // scratch for the header protection mask
}

// newKeys derives packet and header protection keys from a traffic
// secret (RFC 9001, Section 5.1).
func newKeys(s *cipherSuite, secret []byte) (*keys, error) {
	k := &keys{suite: s, secret: secret}
	hp, err := aes.NewCipher(hkdfExpandLabel(s.hash, secret, "quic hp", s.keyLen))
	if err != nil {
		return nil, err
	}
	k.hp = hp
	if err := k.setPacketKey(secret); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *keys) setPacketKey(secret []byte) error {
	block, err := aes.NewCipher(hkdfExpandLabel(k.suite.hash, secret,
		"quic key", k.suite.keyLen))
	if err != nil {
		return err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	k.secret = secret
	k.aead = aead
	copy(k.iv[:], hkdfExpandLabel(k.suite.hash, secret, "quic iv", 12))
	return nil
}

// next returns the keys of the next key phase (RFC 9001, Section 6.1):
// a new packet protection key from "quic ku", the same header protection
// key.
func (k *keys) next() (*keys, error) {
	n := &keys{suite: k.suite, hp: k.hp}
	secret := hkdfExpandLabel(k.suite.hash, k.secret, "quic ku",
		k.suite.hash().Size())
	if err := n.setPacketKey(secret); err != nil {
		return nil, err
	}
	return n, nil
}

// initialKeys returns the Initial keys an endpoint uses to send (seal)
// and to receive (open), given the client's original destination id.
func initialKeys(dcid []byte, isServer bool) (seal, open *keys) {
	c, s := initialSecrets(dcid)
	ck, err := newKeys(suiteAES128, c)
	if err != nil {
		panic(err)
	}
	sk, err := newKeys(suiteAES128, s)
	if err != nil {
		panic(err)
	}
	if isServer {
		return sk, ck
	}
	return ck, sk
}

func (k *keys) nonceFor(pn uint64) []byte {
	k.nonce = k.iv
	for i := 0; i < 8; i++ {
		k.nonce[11-i] ^= byte(pn >> (8 * i))
	}
	return k.nonce[:]
}

// mask computes the header protection mask from a 16-byte sample of the
// ciphertext (RFC 9001, Section 5.4.3: AES-ECB of the sample).
func (k *keys) mask(sample []byte) *[16]byte {
	k.hp.Encrypt(k.mbuf[:], sample)
	return &k.mbuf
}

// protect seals the packet in b in place and applies header protection.
// b holds the unprotected header (the packet number at pnOffset, pnLen
// bytes long) followed by the plaintext payload, with room for the tag in
// its capacity. It returns the protected packet.
func (k *keys) protect(b []byte, pnOffset, pnLen int, pn uint64) []byte {
	hdrEnd := pnOffset + pnLen
	payload := b[hdrEnd:]
	out := k.aead.Seal(payload[:0], k.nonceFor(pn), payload, b[:hdrEnd])
	b = b[:hdrEnd+len(out)]
	// The sample starts 4 bytes after the packet number field begins,
	// as if the packet number were 4 bytes long (Section 5.4.2).
	m := k.mask(b[pnOffset+4 : pnOffset+4+sampleLen])
	if b[0]&0x80 != 0 {
		b[0] ^= m[0] & 0x0f
	} else {
		b[0] ^= m[0] & 0x1f
	}
	for i := 0; i < pnLen; i++ {
		b[pnOffset+i] ^= m[1+i]
	}
	return b
}

// errDecrypt reports a packet that failed authentication; it is dropped.
var errDecrypt = errors.New("quic: packet failed authentication")

// unprotectHeader removes header protection from the packet p (one packet,
// not the whole datagram) in place and returns the packet number length
// and the truncated packet number. It needs 4+16 bytes after pnOffset.
func (k *keys) unprotectHeader(p []byte, pnOffset int) (pnLen int, truncated uint64, err error) {
	if len(p) < pnOffset+4+sampleLen {
		return 0, 0, errShort
	}
	m := k.mask(p[pnOffset+4 : pnOffset+4+sampleLen])
	if p[0]&0x80 != 0 {
		p[0] ^= m[0] & 0x0f
	} else {
		p[0] ^= m[0] & 0x1f
	}
	pnLen = int(p[0]&3) + 1
	for i := 0; i < pnLen; i++ {
		p[pnOffset+i] ^= m[1+i]
		truncated = truncated<<8 | uint64(p[pnOffset+i])
	}
	return pnLen, truncated, nil
}

// reprotectHeader undoes unprotectHeader, for a packet whose payload
// failed to decrypt with the keys tried and is tried again with others
// (a key update), so the header bits are back as they arrived.
func (k *keys) reprotectHeader(p []byte, pnOffset, pnLen int) {
	m := k.mask(p[pnOffset+4 : pnOffset+4+sampleLen])
	for i := 0; i < pnLen; i++ {
		p[pnOffset+i] ^= m[1+i]
	}
	if p[0]&0x80 != 0 {
		p[0] ^= m[0] & 0x0f
	} else {
		p[0] ^= m[0] & 0x1f
	}
}

// open decrypts the payload of packet p in place, once its header is
// unprotected, and returns the plaintext frames.
func (k *keys) open(p []byte, hdrEnd int, pn uint64) ([]byte, error) {
	if len(p)-hdrEnd < aeadTagLen {
		return nil, errShort
	}
	out, err := k.aead.Open(p[hdrEnd:hdrEnd], k.nonceFor(pn), p[hdrEnd:],
		p[:hdrEnd])
	if err != nil {
		return nil, errDecrypt
	}
	return out, nil
}

// retryKey and retryNonce compute the Retry integrity tag of QUIC
// version 1 (RFC 9001, Section 5.8).
var (
	retryKey   = []byte{0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a, 0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8, 0x4e}
	retryNonce = []byte{0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63, 0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb}
)

// retryTag computes the integrity tag of a Retry packet (given without
// its tag) sent in answer to a client whose original destination id was
// odcid: AES-128-GCM over the Retry pseudo-packet with an empty plaintext.
func retryTag(odcid, retryNoTag []byte) []byte {
	block, _ := aes.NewCipher(retryKey)
	aead, _ := cipher.NewGCM(block)
	pseudo := make([]byte, 0, 1+len(odcid)+len(retryNoTag))
	pseudo = append(pseudo, byte(len(odcid)))
	pseudo = append(pseudo, odcid...)
	pseudo = append(pseudo, retryNoTag...)
	return aead.Seal(nil, retryNonce, nil, pseudo)
}

// appendRetry appends a Retry packet carrying token, from a server that
// chose the connection id scid, to a client that sent dcid=odcid and
// scid=clientSCID.
func appendRetry(b, clientSCID, scid, odcid, token []byte) []byte {
	start := len(b)
	var r [1]byte
	b = append(b, 0xc0|byte(PacketRetry)<<4|r[0]&0x0f)
	b = append(b, byte(Version1>>24), byte(Version1>>16), byte(Version1>>8),
		byte(Version1))
	b = append(b, byte(len(clientSCID)))
	b = append(b, clientSCID...)
	b = append(b, byte(len(scid)))
	b = append(b, scid...)
	b = append(b, token...)
	return append(b, retryTag(odcid, b[start:])...)
}
