package main

import (
	"testing"

	"backend-protocols/03-https/internal/lab"
	"backend-protocols/03-https/internal/lab/labtest"
	"backend-protocols/internal/timeline"
)

func TestMain(m *testing.M) { labtest.Main(m) }

// TestRoundTrips checks the lecture's count for QUIC: no TCP handshake,
// one round trip for QUIC's (TLS inside), one for the request: 2 RTT,
// resumed or not.
func TestRoundTrips(t *testing.T) {
	labtest.EachRTT(t, func(t *testing.T, cfg lab.Config) {
		trips := labtest.RoundTrips(t, func() ([]lab.Trip, error) {
			r, err := scenario(t.Context(), timeline.Quiet(), cfg)
			return []lab.Trip{r.Full, r.Resumed}, err
		})
		full, resumed := trips[0], trips[1]
		if full.Resumed || !resumed.Resumed {
			t.Errorf("got resumed %v then %v, want false then true",
				full.Resumed, resumed.Resumed)
		}
		// The first flight is the ClientHello in an Initial packet; the
		// server's answers it with its own and the handshake.
		for _, tr := range trips {
			if len(tr.Events) == 0 || tr.Events[0].Text != "Initial: CRYPTO" ||
				!tr.Has("Handshake: CRYPTO") {
				t.Errorf("%s: got ladder %v, want an Initial first, then Handshake packets",
					tr.Name, tr.Events)
			}
		}
	})
}

func TestLoopbackFallback(t *testing.T) {
	labtest.Fallback(t, func(tl *timeline.Timeline, cfg lab.Config) ([]lab.Trip, error) {
		r, err := scenario(t.Context(), tl, cfg)
		return []lab.Trip{r.Full, r.Resumed}, err
	})
}
