package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The example of RFC 7515 appendix A.1: a JWS using HMAC SHA-256, with
// its key (a JWK "k" value) and its exact header and claims bytes.
const (
	rfcKey   = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
	rfcToken = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9" +
		".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ" +
		".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	rfcExp = 1300819380
)

func rfcSigner(t *testing.T, now int64) *Signer {
	t.Helper()
	key, err := base64.RawURLEncoding.DecodeString(rfcKey)
	if err != nil {
		t.Fatal(err)
	}
	return &Signer{Key: key, Now: func() time.Time { return time.Unix(now, 0) }}
}

func TestRFC7515Example(t *testing.T) {
	i := strings.LastIndexByte(rfcToken, '.')
	s := rfcSigner(t, rfcExp-1)
	if got := signWith(s.Key, rfcToken[:i]); got != rfcToken {
		t.Errorf("signature: got %s, want %s", got[i+1:], rfcToken[i+1:])
	}
	c, err := s.Verify(rfcToken)
	if err != nil || c.Exp != rfcExp {
		t.Errorf("one second before exp: got %+v, %v; want valid", c, err)
	}
	// The example expired in 2011; at exp and after it must be refused.
	if _, err := rfcSigner(t, rfcExp).Verify(rfcToken); !errors.Is(err, ErrExpired) {
		t.Errorf("at exp: got %v, want %v", err, ErrExpired)
	}
}

// attacks adds, to the forgeries the scenario presents, more that only
// this test needs.
func attacks(s *Signer, good string) []forgery {
	now := s.now().Unix()
	claims := `{"sub":"alice","iat":` + strconv.FormatInt(now, 10) + `,"exp":` +
		strconv.FormatInt(now+3600, 10) + `}`
	hs256 := func(in string) []byte {
		m := hmac.New(sha256.New, s.Key)
		m.Write([]byte(in))
		return m.Sum(nil)
	}
	parts := strings.Split(good, ".")
	return append(forgeries(s, good), []forgery{
		{"empty", "", ErrMalformed},
		{"four parts", good + ".x", ErrMalformed},
		{`alg "hs256"`, forge(`{"alg":"hs256"}`, claims, hs256), ErrAlgorithm},
		{"no alg", forge(`{"typ":"JWT"}`, claims, hs256), ErrAlgorithm},
		{"typ not JWT", forge(`{"alg":"HS256","typ":"JOSE+JSON"}`, claims, hs256), ErrMalformed},
		{"crit extension", forge(`{"alg":"HS256","crit":["x"],"x":1}`, claims, hs256),
			ErrMalformed},
		{"two headers", forge(`{"alg":"HS256"}{"alg":"none"}`, claims, hs256), ErrMalformed},
		{"no exp", forge(`{"alg":"HS256"}`, `{"sub":"alice"}`, hs256), ErrMalformed},
		{"fractional exp", forge(`{"alg":"HS256"}`, `{"sub":"alice","exp":9e99}`, hs256),
			ErrMalformed},
		{"padded base64", parts[0] + "=." + parts[1] + "." + parts[2], ErrMalformed},
		// Go's base64 decoder skips CR and LF: the same signature, spelled
		// twice, must not pass (found by FuzzVerify).
		{"newline in signature", parts[0] + "." + parts[1] + "." + parts[2][:5] + "\n" + parts[2][5:],
			ErrSignature},
		{"huge", strings.Repeat("a", maxToken+1), ErrMalformed},
	}...)
}

func TestVerifyRefuses(t *testing.T) {
	s := &Signer{Key: []byte("the server's secret key, 32 byte"), TTL: time.Hour}
	good := s.Sign("alice")
	if c, err := s.Verify(good); err != nil || c.Sub != "alice" {
		t.Fatalf("valid token: got %+v, %v", c, err)
	}
	for _, a := range attacks(s, good) {
		if c, err := s.Verify(a.Token); !errors.Is(err, a.Want) {
			t.Errorf("%s: got %+v, %v; want %v", a.Name, c, err, a.Want)
		}
	}
}

// FuzzVerify checks that no input panics Verify, and that whatever it
// accepts is a token the key really signed.
func FuzzVerify(f *testing.F) {
	s := &Signer{Key: []byte("fuzz key"), TTL: time.Hour}
	good := s.Sign("alice")
	f.Add(good)
	f.Add(rfcToken)
	for _, a := range attacks(s, good) {
		f.Add(a.Token)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.Verify(tok)
		if err != nil {
			return
		}
		i := strings.LastIndexByte(tok, '.')
		if signWith(s.Key, tok[:i]) != tok {
			t.Errorf("accepted %q (%+v) with a signature the key did not make", tok, c)
		}
	})
}
