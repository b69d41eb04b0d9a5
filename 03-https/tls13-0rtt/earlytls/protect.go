package earlytls

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"hash"
	"math"
)

// Protector seals or opens the records of one direction under one traffic
// secret (RFC 8446, Sections 5.2, 5.3 and 7.3): the secret gives a key and
// an IV, and each record's nonce is the IV XORed with the record's 64-bit
// sequence number, which starts at zero for every new secret. The record
// header is the AEAD's additional data.
//
// Only the AES-GCM suites are built: the standard library has no exported
// ChaCha20-Poly1305 (see doc.go).
type Protector struct {
	aead cipher.AEAD
	iv   [12]byte
	seq  uint64
	buf  []byte // Open's output, reused
}

// TrafficKeys derives the AEAD key and IV from a traffic secret (Section
// 7.3) for the TLS 1.3 cipher suite suite.
func TrafficKeys(suite uint16, secret []byte) (key, iv []byte, err error) {
	h, keyLen, err := suiteParams(suite)
	if err != nil {
		return nil, nil, err
	}
	if key, err = ExpandLabel(h, secret, "key", nil, keyLen); err != nil {
		return nil, nil, err
	}
	iv, err = ExpandLabel(h, secret, "iv", nil, 12)
	return key, iv, err
}

// suiteParams returns the hash and key length of a TLS 1.3 suite.
func suiteParams(suite uint16) (func() hash.Hash, int, error) {
	switch suite {
	case tls.TLS_AES_128_GCM_SHA256:
		return sha256.New, 16, nil
	case tls.TLS_AES_256_GCM_SHA384:
		return sha512.New384, 32, nil
	}
	return nil, 0, fmt.Errorf("earlytls: cipher suite %s not supported",
		tls.CipherSuiteName(suite))
}

// ExpandLabel is HKDF-Expand-Label (Section 7.1): HKDF-Expand with an info
// of the length, "tls13 " + label, and context.
func ExpandLabel(h func() hash.Hash, secret []byte, label string,
	context []byte, length int) ([]byte, error) {
	full := "tls13 " + label
	if len(full) > 255 || len(context) > 255 || length > math.MaxUint16 {
		return nil, fmt.Errorf("earlytls: HKDF label too long")
	}
	info := make([]byte, 0, 4+len(full)+len(context))
	info = append(info, byte(length>>8), byte(length), byte(len(full)))
	info = append(info, full...)
	info = append(info, byte(len(context)))
	info = append(info, context...)
	return hkdf.Expand(h, secret, string(info), length)
}

// NewProtector returns a protector for records under the traffic secret
// secret of the TLS 1.3 cipher suite suite, starting at sequence number 0.
func NewProtector(suite uint16, secret []byte) (*Protector, error) {
	key, iv, err := TrafficKeys(suite, secret)
	if err != nil {
		return nil, err
	}
	return newProtector(key, iv)
}

// newProtector returns a protector with an AES-GCM key and a 12-byte IV.
func newProtector(key, iv []byte) (*Protector, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	p := &Protector{aead: aead}
	copy(p.iv[:], iv)
	return p, nil
}

// Seq returns the sequence number of the next record.
func (p *Protector) Seq() uint64 { return p.seq }

// nonce is the per-record nonce: the IV XOR the left-padded sequence number.
func (p *Protector) nonce() []byte {
	n := p.iv
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], p.seq)
	for i := range s {
		n[4+i] ^= s[i]
	}
	return n[:]
}

// Overhead is how many bytes protection adds to content: the inner type
// byte and the AEAD tag (no padding is added).
func (p *Protector) Overhead() int { return 1 + p.aead.Overhead() }

// Seal appends to dst a protected record carrying content of type typ:
// TLSInnerPlaintext (content, type, no padding) sealed as
// application_data. content must be at most MaxPlaintext bytes.
func (p *Protector) Seal(dst []byte, typ ContentType, content []byte) ([]byte, error) {
	if len(content) > MaxPlaintext {
		return dst, fmt.Errorf("earlytls: %d bytes in one record: %w",
			len(content), alertRecordOverflow)
	}
	if p.seq == math.MaxUint64 {
		// Section 5.3: the sequence number must not wrap.
		return dst, fmt.Errorf("earlytls: sequence number exhausted: %w",
			alertInternalError)
	}
	n := len(content) + p.Overhead()
	start := len(dst)
	dst = append(dst, byte(TypeApplicationData), legacyVersion>>8,
		legacyVersion&0xff, byte(n>>8), byte(n))
	header := dst[start:]
	inner := append(append(make([]byte, 0, len(content)+1), content...), byte(typ))
	dst = p.aead.Seal(dst, p.nonce(), inner, header[:HeaderLen])
	p.seq++
	return dst, nil
}

// Open authenticates and decrypts a protected record (type
// application_data) and returns the inner content type and content, with
// the padding removed. On failure the sequence number does not advance, so
// a caller may try another secret: that is how a server that refused early
// data skips it (Section 4.2.10), and rec is left as it was. The returned
// content is valid until the next call to Open.
func (p *Protector) Open(rec Record) (ContentType, []byte, error) {
	if rec.Type != TypeApplicationData {
		return 0, nil, fmt.Errorf("earlytls: protected record of type %s: %w",
			rec.Type, alertUnexpectedMessage)
	}
	if len(rec.Fragment) > MaxCiphertext {
		return 0, nil, alertRecordOverflow
	}
	if len(rec.Fragment) < p.Overhead() {
		return 0, nil, fmt.Errorf("earlytls: protected record too short: %w",
			alertBadRecordMAC)
	}
	if p.seq == math.MaxUint64 {
		return 0, nil, alertInternalError
	}
	header := []byte{byte(rec.Type), byte(rec.Version >> 8),
		byte(rec.Version), byte(len(rec.Fragment) >> 8), byte(len(rec.Fragment))}
	// Decrypt into a buffer of our own: GCM wipes its output when the
	// tag does not match, and the record must survive for another try.
	plain, err := p.aead.Open(p.buf[:0], p.nonce(), rec.Fragment, header)
	if err != nil {
		return 0, nil, alertBadRecordMAC
	}
	p.buf = plain[:0]
	// Strip the zero padding; the last non-zero byte is the real type.
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 {
		return 0, nil, fmt.Errorf("earlytls: record with no content type: %w",
			alertUnexpectedMessage)
	}
	if i > MaxPlaintext {
		return 0, nil, alertRecordOverflow
	}
	p.seq++
	return ContentType(plain[i]), plain[:i], nil
}
