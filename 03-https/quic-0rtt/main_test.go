package main

import (
	"testing"
	"time"

	"backend-protocols/03-https/internal/lab"
	"backend-protocols/03-https/internal/lab/labtest"
	"backend-protocols/internal/timeline"
)

func TestMain(m *testing.M) { labtest.Main(m) }

// TestRoundTrips checks the lecture's counts: a full QUIC handshake 2,
// a GET in 0-RTT 1, a POST in 0-RTT refused with 425 and sent again
// after the handshake 2; and the guarded server refuses the replayed
// first datagrams.
func TestRoundTrips(t *testing.T) {
	labtest.EachRTT(t, func(t *testing.T, cfg lab.Config) {
		var reports []report
		labtest.RoundTrips(t, func() ([]lab.Trip, error) {
			r, err := scenario(t.Context(), timeline.Quiet(), config{Lab: cfg, Guard: true})
			reports = append(reports, r)
			return []lab.Trip{r.Full, r.Early, r.Post}, err
		})
		for _, r := range reports {
			if r.Early.EarlyHeld {
				t.Errorf("visit 2: the server held the 0-RTT GET until the handshake ended; " +
					"want it answered at 0.5-RTT")
			}
			if !r.Early.EarlyData || !r.Early.Has("0-RTT: STREAM 0") &&
				!hasPrefix(r.Early, "0-RTT: STREAM") {
				t.Errorf("visit 2: got early data %v and ladder %v; want the GET in 0-RTT packets",
					r.Early.EarlyData, r.Early.Events)
			}
			if r.Post.EarlyData && r.After.TooEarly < 1 {
				t.Errorf("POST: got handler stats %+v, want a 425", r.After)
			}
			if served := r.After.Early - r.Before.Early; served != 0 || r.Refused != 1 {
				t.Errorf("replay: got the copy served %d times and %d refusals, want 0 and 1",
					served, r.Refused)
			}
		}
	})
}

// hasPrefix reports whether a message of the trip's ladder starts with p.
func hasPrefix(tr lab.Trip, p string) bool {
	for _, e := range tr.Events {
		if len(e.Text) >= len(p) && e.Text[:len(p)] == p {
			return true
		}
	}
	return false
}

// TestReplayWithoutGuard: without single-use tickets, the server takes the
// copy's 0-RTT data again and serves the GET a second time: the danger
// the guard exists for.
func TestReplayWithoutGuard(t *testing.T) {
	labtest.NeedNamespaces(t)
	r, err := scenario(t.Context(), timeline.Quiet(),
		config{Lab: lab.Config{RTT: 10 * time.Millisecond}, Guard: false})
	if err != nil {
		t.Fatal(err)
	}
	served := r.After.Early - r.Before.Early
	switch {
	case r.Datagrams == 0 || r.Refused != 0:
		t.Errorf("got %d datagrams replayed, %d refusals; want a replay, none refused",
			r.Datagrams, r.Refused)
	case served != 1:
		t.Errorf("got the copy served %d times, want once", served)
	}
}

func TestLoopbackFallback(t *testing.T) {
	var r report
	labtest.Fallback(t, func(tl *timeline.Timeline, cfg lab.Config) ([]lab.Trip, error) {
		var err error
		r, err = scenario(t.Context(), tl, config{Lab: cfg, Guard: true})
		return []lab.Trip{r.Full, r.Early, r.Post}, err
	})
	if r.Skipped == nil || !r.Early.EarlyData {
		t.Errorf("got replay skipped %v, early data %v; want a reason and early data",
			r.Skipped, r.Early.EarlyData)
	}
}
