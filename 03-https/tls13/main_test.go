package main

import (
	"testing"

	"backend-protocols/03-https/internal/lab"
	"backend-protocols/03-https/internal/lab/labtest"
	"backend-protocols/internal/timeline"
)

func TestMain(m *testing.M) { labtest.Main(m) }

// TestRoundTrips checks the lecture's count: TCP's handshake, TLS 1.3's
// one round trip, the request: 3 RTT, resumed or not.
func TestRoundTrips(t *testing.T) {
	labtest.EachRTT(t, func(t *testing.T, cfg lab.Config) {
		trips := labtest.RoundTrips(t, func() ([]lab.Trip, error) {
			v, err := scenario(t.Context(), timeline.Quiet(), cfg)
			return []lab.Trip{v.Full, v.Resumed}, err
		})
		full, resumed := trips[0], trips[1]
		if full.Resumed || !resumed.Resumed {
			t.Errorf("got resumed %v then %v, want false then true",
				full.Resumed, resumed.Resumed)
		}
		// The ladder, decrypted with the key log: the full handshake
		// proves the server's identity; resumption skips that.
		for _, m := range []string{"ClientHello", "ServerHello",
			"{EncryptedExtensions}", "{Certificate}", "{CertificateVerify}",
			"{Finished}", "[GET / HTTP/1.1]", "[HTTP/1.1 200 OK]"} {
			if !full.Has(m) {
				t.Errorf("full handshake: no %s on the ladder", m)
			}
		}
		if resumed.Has("{Certificate}") || !resumed.Has("{Finished}") {
			t.Errorf("resumed handshake: got a certificate %v, Finished %v; want false, true",
				resumed.Has("{Certificate}"), resumed.Has("{Finished}"))
		}
		_, _, _, fullDown := full.Bytes()
		_, _, _, resDown := resumed.Bytes()
		if resDown >= fullDown {
			t.Errorf("got %d bytes down resumed, %d full; want fewer resumed",
				resDown, fullDown)
		}
	})
}

func TestLoopbackFallback(t *testing.T) {
	labtest.Fallback(t, func(tl *timeline.Timeline, cfg lab.Config) ([]lab.Trip, error) {
		v, err := scenario(t.Context(), tl, cfg)
		return []lab.Trip{v.Full, v.Resumed}, err
	})
}
