package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strconv"
	"strings"
	"time"
)

// forgery is a token an attacker, a broken client or a skewed clock might
// present, and the reason Verify must refuse it.
type forgery struct {
	Name, Token string
	Want        error
}

// forgeries derives bad tokens from good, a valid token s signed for
// alice: edited, truncated, re-signed, with other algorithms, expired and
// not yet valid. The last two carry a valid signature: only their times
// are wrong.
func forgeries(s *Signer, good string) []forgery {
	now := s.now().Unix()
	itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
	claims := `{"sub":"alice","iat":` + itoa(now) + `,"exp":` + itoa(now+3600) + `}`
	admin := strings.Replace(claims, "alice", "admin", 1)
	mac := func(h func() hash.Hash) func(string) []byte {
		return func(in string) []byte {
			m := hmac.New(h, s.Key)
			m.Write([]byte(in))
			return m.Sum(nil)
		}
	}
	hs256, hs512 := mac(sha256.New), mac(sha512.New)
	parts := strings.Split(good, ".")
	if len(parts) != 3 {
		return nil
	}
	other := &Signer{Key: []byte("not the server's key, 32 bytes!!"), TTL: time.Hour,
		Now: s.Now}
	old := &Signer{Key: s.Key, TTL: time.Hour,
		Now: func() time.Time { return s.now().Add(-2 * time.Hour) }}
	return []forgery{
		{"not a token", "hello", ErrMalformed},
		{"truncated", good[:len(good)-5], ErrSignature},
		{"signature cut off", parts[0] + "." + parts[1] + ".", ErrSignature},
		{"sub edited to admin", parts[0] + "." + b64.EncodeToString([]byte(admin)) +
			"." + parts[2], ErrSignature},
		{"re-signed with another key", other.Sign("alice"), ErrSignature},
		{`alg "none", no signature`, forge(`{"alg":"none","typ":"JWT"}`, admin, nil),
			ErrAlgorithm},
		{`alg "HS512", right key`, forge(`{"alg":"HS512","typ":"JWT"}`, admin, hs512),
			ErrAlgorithm},
		{`alg "RS256" (key confusion)`, forge(`{"alg":"RS256"}`, admin, hs256),
			ErrAlgorithm},
		{"expired an hour ago", old.Sign("alice"), ErrExpired},
		{"valid only in an hour", s.SignClaims(Claims{Sub: "alice", Iat: now,
			Nbf: now + 3600, Exp: now + 7200}), ErrNotYetValid},
	}
}

// forge builds a token from raw header and claims JSON, signed by sign
// (nil: an empty signature).
func forge(header, claims string, sign func(input string) []byte) string {
	in := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(claims))
	var sig []byte
	if sign != nil {
		sig = sign(in)
	}
	return in + "." + b64.EncodeToString(sig)
}
