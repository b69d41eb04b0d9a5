package wire

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"hash"

	"backend-protocols/03-https/tls13-0rtt/earlytls"
)

// gcm12 opens the records of one direction of a TLS 1.2 AES-GCM
// connection (RFC 5246 Section 6.2.3.3, RFC 5288).
type gcm12 struct {
	aead cipher.AEAD
	salt []byte // the 4-byte implicit part of the nonce
	seq  uint64
}

// tls12Suite returns the PRF hash and key length of a TLS 1.2 AES-GCM suite.
func tls12Suite(suite uint16) (func() hash.Hash, int, bool) {
	switch suite {
	case 0xc02b, 0xc02f, 0x009c: // ECDHE_ECDSA, ECDHE_RSA, RSA with AES_128_GCM_SHA256
		return sha256.New, 16, true
	case 0xc02c, 0xc030, 0x009d: // ... with AES_256_GCM_SHA384
		return sha512.New384, 32, true
	}
	return nil, 0, false
}

// prf12 is TLS 1.2's PRF, P_hash (RFC 5246 Section 5).
func prf12(h func() hash.Hash, secret []byte, label string, seed []byte, n int) []byte {
	seed = append([]byte(label), seed...)
	var out []byte
	a := seed
	for len(out) < n {
		m := hmac.New(h, secret)
		m.Write(a)
		a = m.Sum(nil)
		m = hmac.New(h, secret)
		m.Write(a)
		m.Write(seed)
		out = m.Sum(out)
	}
	return out[:n]
}

// tls12Keys derives both directions' record keys from the master secret
// (RFC 5246 Section 6.3): client write key, server write key, client IV,
// server IV.
func tls12Keys(suite uint16, master, clientRandom, serverRandom []byte,
) (client, server *gcm12, err error) {
	h, keyLen, ok := tls12Suite(suite)
	if !ok {
		return nil, nil, errors.New("wire: not an AES-GCM suite")
	}
	seed := append(append([]byte(nil), serverRandom...), clientRandom...)
	kb := prf12(h, master, "key expansion", seed, 2*keyLen+8)
	mk := func(key, salt []byte) (*gcm12, error) {
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		return &gcm12{aead: aead, salt: salt}, nil
	}
	if client, err = mk(kb[:keyLen], kb[2*keyLen:2*keyLen+4]); err != nil {
		return nil, nil, err
	}
	server, err = mk(kb[keyLen:2*keyLen], kb[2*keyLen+4:])
	return client, server, err
}

// open decrypts one record: an 8-byte explicit nonce, then the ciphertext
// and tag; the additional data is the sequence number and the header with
// the plaintext's length.
func (g *gcm12) open(rec earlytls.Record) ([]byte, error) {
	if g.aead == nil {
		return nil, errors.New("wire: no keys")
	}
	f := rec.Fragment
	if len(f) < 8+g.aead.Overhead() {
		return nil, errors.New("wire: TLS 1.2 record too short")
	}
	nonce := append(append([]byte(nil), g.salt...), f[:8]...)
	ad := make([]byte, 13)
	binary.BigEndian.PutUint64(ad, g.seq)
	ad[8] = byte(rec.Type)
	binary.BigEndian.PutUint16(ad[9:], rec.Version)
	binary.BigEndian.PutUint16(ad[11:], uint16(len(f)-8-g.aead.Overhead()))
	plain, err := g.aead.Open(nil, nonce, f[8:], ad)
	if err != nil {
		return nil, err
	}
	g.seq++
	return plain, nil
}
