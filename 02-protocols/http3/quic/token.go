package quic

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"net/netip"
	"time"
)

// tokenLifetime bounds how long a Retry token is accepted.
const tokenLifetime = 10 * time.Second

// tokenKey seals the address validation tokens a server puts in Retry
// packets (RFC 9000, Section 8.1.4): only this endpoint can make or read
// them, and they bind the client's address, the time, and the client's
// original destination connection id, which the server must echo in its
// transport parameters.
type tokenKey struct{ aead cipher.AEAD }

func newTokenKey() *tokenKey {
	key := make([]byte, 16)
	rand.Read(key)
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	return &tokenKey{aead}
}

func addrBytes(a netip.AddrPort) []byte {
	b, _ := a.MarshalBinary()
	return b
}

// seal makes a token for a client at addr whose first Initial went to
// odcid.
func (k *tokenKey) seal(odcid []byte, addr netip.AddrPort) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	plain := binary.BigEndian.AppendUint64(nil, uint64(time.Now().UnixNano()))
	plain = append(plain, odcid...)
	return k.aead.Seal(nonce, nonce, plain, addrBytes(addr))
}

// open checks a token from addr and returns the original destination
// connection id it carries.
func (k *tokenKey) open(token []byte, addr netip.AddrPort) ([]byte, bool) {
	ns := k.aead.NonceSize()
	if len(token) < ns+8+k.aead.Overhead() {
		return nil, false
	}
	plain, err := k.aead.Open(nil, token[:ns], token[ns:], addrBytes(addr))
	if err != nil || len(plain) < 8 || len(plain) > 8+MaxConnIDLen {
		return nil, false
	}
	made := time.Unix(0, int64(binary.BigEndian.Uint64(plain)))
	if age := time.Since(made); age < 0 || age > tokenLifetime {
		return nil, false
	}
	return plain[8:], true
}
