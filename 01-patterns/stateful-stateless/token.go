package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A token is a JSON Web Token (RFC 7519) in JWS compact serialization
// (RFC 7515 section 7.1), signed with HMAC-SHA256 ("HS256", RFC 7518
// section 3.2):
//
//	base64url(header) "." base64url(claims) "." base64url(HMAC-SHA256(key, first two parts))
//	{"alg":"HS256","typ":"JWT"} . {"sub":"alice","iat":..,"nbf":..,"exp":..} . 32 bytes
//
// Everything the server needs to know who is calling rides in the token,
// so any instance holding the key can check it and none has to remember
// it. Verify accepts HS256 and nothing else: the algorithm is the
// server's choice, never the token's, so "alg":"none" and every other
// algorithm are refused before any signature is looked at.

// maxToken bounds the token a server will parse.
const maxToken = 4096

// Errors Verify returns; each is a reason for 401.
var (
	ErrMalformed   = errors.New("malformed token")
	ErrAlgorithm   = errors.New("algorithm not accepted")
	ErrSignature   = errors.New("bad signature")
	ErrExpired     = errors.New("token expired")
	ErrNotYetValid = errors.New("token not yet valid")
)

// Claims are the registered claims the demo uses (RFC 7519 section 4.1),
// times in seconds since the epoch.
type Claims struct {
	Sub string `json:"sub"`
	Iat int64  `json:"iat"`
	Nbf int64  `json:"nbf,omitempty"`
	Exp int64  `json:"exp"`
}

// hs256Header is the header every token this package signs carries.
var hs256Header = b64.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// b64 is base64url without padding (RFC 7515 section 2); Strict refuses
// non-zero trailing bits. Go's decoder still skips CR and LF, so segment
// first refuses any byte outside the alphabet: one token, one spelling.
var b64 = base64.RawURLEncoding.Strict()

// segment decodes one dot-separated part of a token.
func segment(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_') {
			return nil, fmt.Errorf("byte %q is not base64url", c)
		}
	}
	return b64.DecodeString(s)
}

// Signer signs and verifies tokens with one secret key.
type Signer struct {
	Key []byte
	TTL time.Duration    // how long a token it signs is valid
	Now func() time.Time // time.Now if nil
}

func (s *Signer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Sign returns a token for sub, valid from now for s.TTL.
func (s *Signer) Sign(sub string) string {
	now := s.now().Unix()
	return s.SignClaims(Claims{Sub: sub, Iat: now, Nbf: now,
		Exp: now + int64(s.TTL/time.Second)})
}

// SignClaims returns a token carrying c, signed with s.Key.
func (s *Signer) SignClaims(c Claims) string {
	payload, _ := json.Marshal(c) // a struct of strings and ints always encodes
	return signWith(s.Key, hs256Header+"."+b64.EncodeToString(payload))
}

// signWith appends the HS256 signature of input under key.
func signWith(key []byte, input string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(input))
	return input + "." + b64.EncodeToString(m.Sum(nil))
}

// Verify checks tok's form, algorithm and signature, and only then reads
// its claims and checks their times. It returns the claims of a valid
// token, or an error wrapping one of the Err values.
func (s *Signer) Verify(tok string) (Claims, error) {
	var c Claims
	if len(tok) > maxToken {
		return c, fmt.Errorf("%w: %d bytes", ErrMalformed, len(tok))
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return c, fmt.Errorf("%w: %d parts, want 3", ErrMalformed, len(parts))
	}
	hdr, err := segment(parts[0])
	if err != nil {
		return c, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	var h struct {
		Alg  string          `json:"alg"`
		Typ  *string         `json:"typ"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := strictJSON(hdr, &h); err != nil {
		return c, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if h.Alg != "HS256" {
		return c, fmt.Errorf("%w: %q", ErrAlgorithm, h.Alg)
	}
	// RFC 7515 section 4.1.11: extensions marked critical that the
	// server does not understand make the token invalid.
	if h.Crit != nil || h.Typ != nil && *h.Typ != "JWT" {
		return c, fmt.Errorf("%w: header %s", ErrMalformed, hdr)
	}
	sig, err := segment(parts[2])
	if err != nil || len(sig) != sha256.Size {
		return c, fmt.Errorf("%w: %d-byte signature", ErrSignature, len(sig))
	}
	m := hmac.New(sha256.New, s.Key)
	m.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, m.Sum(nil)) {
		return c, ErrSignature
	}
	// Signed by us: now the claims may be read.
	payload, err := segment(parts[1])
	if err != nil {
		return c, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	if err := strictJSON(payload, &c); err != nil {
		return c, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	now := s.now().Unix()
	switch {
	case c.Exp == 0:
		return c, fmt.Errorf("%w: no exp", ErrMalformed)
	case now >= c.Exp: // RFC 7519 section 4.1.4: "on or after"
		return c, fmt.Errorf("%w %ds ago", ErrExpired, now-c.Exp)
	case now < c.Nbf:
		return c, fmt.Errorf("%w for %ds", ErrNotYetValid, c.Nbf-now)
	}
	return c, nil
}

// strictJSON decodes one JSON object into v and refuses anything after it.
func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("data after the object")
	}
	return nil
}
