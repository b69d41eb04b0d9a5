package main

import (
	"errors"
	"strings"
	"testing"

	"backend-protocols/03-https/internal/lab"
	"backend-protocols/03-https/internal/lab/labtest"
	"backend-protocols/03-https/internal/variant"
	"backend-protocols/internal/timeline"
)

func TestMain(m *testing.M) { labtest.Main(m) }

// TestTable checks every row of the table against the lecture's count,
// at both round-trip times.
func TestTable(t *testing.T) {
	labtest.EachRTT(t, func(t *testing.T, cfg lab.Config) {
		var out strings.Builder
		trips := labtest.RoundTrips(t, func() ([]lab.Trip, error) {
			out.Reset()
			rows, err := scenario(t.Context(), timeline.New(&out), config{Lab: cfg})
			var trips []lab.Trip
			for _, r := range rows {
				switch {
				case r.Skipped != nil:
					t.Errorf("%s: skipped: %v", r.Name, r.Skipped)
				case r.Trip.EarlyHeld:
					t.Errorf("%s: the server held the early request until the "+
						"handshake ended, instead of answering at 0.5-RTT", r.Name)
				default:
					trips = append(trips, r.Trip)
				}
			}
			return trips, err
		})
		if n := len(trips); n != len(variant.Rows()) {
			t.Errorf("got %d rows, want %d", n, len(variant.Rows()))
		}
		for _, tr := range trips {
			if !strings.Contains(out.String(), "| "+tr.Name+" ") {
				t.Errorf("no row for %s in:\n%s", tr.Name, out.String())
			}
		}
	})
}

// TestLoopbackFallback checks that without namespaces the table still
// runs, marks what needs the link as not measured and says why.
func TestLoopbackFallback(t *testing.T) {
	var rows []row
	labtest.Fallback(t, func(tl *timeline.Timeline, cfg lab.Config) ([]lab.Trip, error) {
		var err error
		rows, err = scenario(t.Context(), tl, config{Lab: cfg})
		var trips []lab.Trip
		for _, r := range rows {
			if r.Skipped == nil {
				trips = append(trips, r.Trip)
			}
		}
		return trips, err
	})
	for _, r := range rows {
		if r.NeedsLink != errors.Is(r.Skipped, variant.ErrNeedsLink) {
			t.Errorf("%s: needs the link %v, got skipped %v", r.Name, r.NeedsLink, r.Skipped)
		}
	}
}
