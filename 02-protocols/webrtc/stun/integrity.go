package stun

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"hash/crc32"
)

// fingerprintXOR is XORed into the CRC so that a CRC-32 of another
// protocol is not mistaken for a STUN fingerprint (section 14.7).
const fingerprintXOR = 0x5354554e

// Errors from the checks.
var (
	ErrIntegrity   = errors.New("stun: message integrity check failed")
	ErrFingerprint = errors.New("stun: fingerprint check failed")
)

// ShortTermKey is the HMAC key of the short-term credential mechanism
// (section 9.1.1): the password, already processed with OpaqueString.
func ShortTermKey(password string) []byte { return []byte(password) }

// LongTermKey is the HMAC key of the long-term credential mechanism with
// MD5 (section 9.2.2): MD5(username ":" realm ":" password), all three
// already processed by the caller.
func LongTermKey(username, realm, password string) []byte {
	sum := md5.Sum([]byte(username + ":" + realm + ":" + password))
	return sum[:]
}

// AddIntegrity appends MESSAGE-INTEGRITY (HMAC-SHA1 over the message so
// far, with the header's length covering the new attribute).
func (m *Message) AddIntegrity(key []byte) {
	m.addMAC(AttrMessageIntegrity, sha1.New, key, 20)
}

// AddIntegritySHA256 appends MESSAGE-INTEGRITY-SHA256, untruncated.
func (m *Message) AddIntegritySHA256(key []byte) {
	m.addMAC(AttrMessageIntegritySHA256, sha256.New, key, 32)
}

func (m *Message) addMAC(t AttrType, h func() hash.Hash, key []byte, size int) {
	b := m.Encode()
	// The length in the header must count the attribute being added.
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)-HeaderSize+4+size))
	mac := hmac.New(h, key)
	mac.Write(b)
	m.Add(t, mac.Sum(nil)[:size])
}

// AddFingerprint appends FINGERPRINT, which must be the last attribute.
func (m *Message) AddFingerprint() {
	b := m.Encode()
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)-HeaderSize+8))
	v := binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(b)^fingerprintXOR)
	m.Add(AttrFingerprint, v)
}

// prefix returns the encoded message up to the first attribute of type t,
// with the header's length set as if the message ended just after that
// attribute, and the attribute's value; ok is false without one.
func (m *Message) prefix(t AttrType) (b, value []byte, ok bool) {
	b = make([]byte, HeaderSize, 128)
	binary.BigEndian.PutUint16(b[0:2], m.Type.Value())
	binary.BigEndian.PutUint32(b[4:8], MagicCookie)
	copy(b[8:20], m.TransactionID[:])
	for _, a := range m.Attributes {
		if a.Type == t {
			end := len(b) - HeaderSize + 4 + (len(a.Value)+3)&^3
			binary.BigEndian.PutUint16(b[2:4], uint16(end))
			return b, a.Value, true
		}
		b = appendAttr(b, a)
	}
	return nil, nil, false
}

// CheckIntegrity verifies MESSAGE-INTEGRITY-SHA256 if the message has it,
// and MESSAGE-INTEGRITY otherwise, as section 9.1.3 orders. It fails if
// the message has neither.
func (m *Message) CheckIntegrity(key []byte) error {
	if b, v, ok := m.prefix(AttrMessageIntegritySHA256); ok {
		if len(v) < 16 || len(v) > 32 || len(v)%4 != 0 {
			return ErrIntegrity
		}
		mac := hmac.New(sha256.New, key)
		mac.Write(b)
		if !hmac.Equal(mac.Sum(nil)[:len(v)], v) {
			return ErrIntegrity
		}
		return nil
	}
	b, v, ok := m.prefix(AttrMessageIntegrity)
	if !ok || len(v) != 20 {
		return ErrIntegrity
	}
	mac := hmac.New(sha1.New, key)
	mac.Write(b)
	if !hmac.Equal(mac.Sum(nil), v) {
		return ErrIntegrity
	}
	return nil
}

// HasIntegrity reports whether the message carries either integrity
// attribute.
func (m *Message) HasIntegrity() bool {
	_, a := m.Get(AttrMessageIntegrity)
	_, b := m.Get(AttrMessageIntegritySHA256)
	return a || b
}

// CheckFingerprint verifies FINGERPRINT, which must be present and last.
func (m *Message) CheckFingerprint() error {
	n := len(m.Attributes)
	if n == 0 || m.Attributes[n-1].Type != AttrFingerprint {
		return ErrFingerprint
	}
	b, v, _ := m.prefix(AttrFingerprint)
	if len(v) != 4 || binary.BigEndian.Uint32(v) != crc32.ChecksumIEEE(b)^fingerprintXOR {
		return ErrFingerprint
	}
	return nil
}
