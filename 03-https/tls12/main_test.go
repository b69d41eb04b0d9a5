package main

import (
	"testing"

	"backend-protocols/03-https/internal/lab"
	"backend-protocols/03-https/internal/lab/labtest"
	"backend-protocols/internal/timeline"
)

func TestMain(m *testing.M) { labtest.Main(m) }

// TestRoundTrips checks the lecture's count: TCP's handshake, TLS 1.2's
// two round trips, the request: 4 RTT; resumption saves one of TLS's.
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
		// proves the server's identity and agrees on keys in two round
		// trips; the resumed one reuses the session's keys.
		for _, m := range []string{"ClientHello", "ServerHello",
			"Certificate", "ServerKeyExchange", "ServerHelloDone",
			"ClientKeyExchange", "ChangeCipherSpec", "[Finished]",
			"NewSessionTicket", "[GET / HTTP/1.1]", "[HTTP/1.1 200 OK]"} {
			if !full.Has(m) {
				t.Errorf("full handshake: no %s on the ladder", m)
			}
		}
		if resumed.Has("Certificate") || resumed.Has("ClientKeyExchange") ||
			!resumed.Has("[Finished]") || !resumed.Has("[GET / HTTP/1.1]") {
			t.Errorf("resumed handshake: got %v, want no Certificate or "+
				"ClientKeyExchange, a [Finished] and a [GET / HTTP/1.1]",
				resumed.Events)
		}
	})
}

func TestLoopbackFallback(t *testing.T) {
	labtest.Fallback(t, func(tl *timeline.Timeline, cfg lab.Config) ([]lab.Trip, error) {
		v, err := scenario(t.Context(), tl, cfg)
		return []lab.Trip{v.Full, v.Resumed}, err
	})
}
