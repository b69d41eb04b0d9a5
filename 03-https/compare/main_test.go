package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"backend-protocols/03-https/internal/lab"
	"backend-protocols/03-https/internal/lab/labtest"
	"backend-protocols/03-https/internal/variant"
	"backend-protocols/internal/timeline"
)

func TestMain(m *testing.M) { labtest.Main(m) }

// TestTable checks every row of the table against the lecture's count,
// at both round-trip times.
func TestTable(t *testing.T) {
	labtest.NeedNamespaces(t)
	for _, rtt := range labtest.RTTs {
		t.Run(rtt.String(), func(t *testing.T) {
			var out strings.Builder
			trips := labtest.RoundTrips(t, func() ([]lab.Trip, error) {
				out.Reset()
				rows, err := scenario(t.Context(), timeline.New(&out),
					config{Lab: lab.Config{RTT: rtt}})
				var trips []lab.Trip
				for _, r := range rows {
					if r.Skipped != nil {
						t.Errorf("%s: skipped: %v", r.Name, r.Skipped)
					}
					trips = append(trips, r.Trip)
				}
				return trips, err
			})
			if len(trips) != len(variant.Rows()) {
				t.Errorf("got %d rows, want %d", len(trips), len(variant.Rows()))
			}
			for _, tr := range trips {
				if !strings.Contains(out.String(), "| "+tr.Name+" ") {
					t.Errorf("no row for %s in:\n%s", tr.Name, out.String())
				}
			}
		})
	}
}

// TestLoopbackFallback checks that without namespaces the table still
// runs, marks what needs the link as not measured and says why.
func TestLoopbackFallback(t *testing.T) {
	var out strings.Builder
	rtt := 10 * time.Millisecond
	rows, err := scenario(context.Background(), timeline.New(&out),
		config{Lab: lab.Config{RTT: rtt, Loopback: true}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		switch {
		case r.NeedsLink:
			if !errors.Is(r.Skipped, variant.ErrNeedsLink) {
				t.Errorf("%s: got skipped %v, want %v", r.Name, r.Skipped, variant.ErrNeedsLink)
			}
		case r.Skipped != nil || r.Trip.TTFB < time.Duration(r.Predicted-1)*rtt:
			t.Errorf("%s: got skipped %v, first byte after %v; want measured, "+
				"at least %d round trips", r.Name, r.Skipped, r.Trip.TTFB, r.Predicted-1)
		}
	}
	if !strings.Contains(out.String(), "Not measured here") {
		t.Errorf("output does not say what was not measured:\n%s", out.String())
	}
}
