package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"backend-protocols/03-https/internal/lab"
	"backend-protocols/03-https/internal/lab/labtest"
	"backend-protocols/internal/timeline"
)

func TestMain(m *testing.M) { labtest.Main(m) }

// TestRoundTrips checks Fast Open's saving: 3 round trips while the
// client has no cookie, 2 once the ClientHello rides in the SYN, and 3
// again when the ClientHello does not fit in it.
func TestRoundTrips(t *testing.T) {
	labtest.EachRTT(t, func(t *testing.T, cfg lab.Config) {
		var reports []report
		labtest.RoundTrips(t, func() ([]lab.Trip, error) {
			r, err := scenario(t.Context(), timeline.Quiet(), cfg)
			reports = append(reports, r)
			return []lab.Trip{r.Cookie, r.FastOpen, r.TooBig}, err
		})
		for _, r := range reports {
			checkKernel(t, r)
		}
	})
}

// checkKernel checks the kernels' own evidence, in every run.
func checkKernel(t *testing.T, r report) {
	t.Helper()
	c := r.Cookie.Counters
	if r.Cookie.SYNData || c["server TCPFastOpenCookieReqd"] != 1 ||
		c["client TCPFastOpenActive"] != 0 {
		t.Errorf("visit 1: got SYN data %v, counters %v; want no data, "+
			"one cookie request, no Fast Open", r.Cookie.SYNData, c)
	}
	for _, tr := range []lab.Trip{r.FastOpen, r.TooBig} {
		c := tr.Counters
		if !tr.SYNData || c["client TCPFastOpenActive"] != 1 ||
			c["server TCPFastOpenPassive"] != 1 {
			t.Errorf("%s: got SYN data %v, counters %v; want data taken, "+
				"TCPFastOpenActive and Passive +1", tr.Name, tr.SYNData, c)
		}
	}
	// Where the ClientHello was complete: in the SYN, or a round trip
	// later, after the SYN-ACK, when the rest could follow.
	if at := helloAt(r.FastOpen); at > time.Millisecond+r.FastOpen.RTT/10 {
		t.Errorf("Fast Open: ClientHello complete after %v, want in the SYN", at)
	}
	if at := helloAt(r.TooBig); at < r.TooBig.RTT {
		t.Errorf("1.5 KB hello: ClientHello complete after %v, want after the SYN-ACK", at)
	}
}

// helloAt returns when the packet that completed the ClientHello was sent.
func helloAt(t lab.Trip) time.Duration {
	for _, e := range t.Events {
		if e.Text == "ClientHello" {
			return e.At
		}
	}
	return -1
}

// TestLoopbackSaysWhy checks that without namespaces the demo measures
// nothing and says so.
func TestLoopbackSaysWhy(t *testing.T) {
	var out strings.Builder
	r, err := scenario(context.Background(), timeline.New(&out),
		lab.Config{RTT: 10 * time.Millisecond, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Skipped == nil || !strings.Contains(out.String(), "Not measured here") {
		t.Errorf("got skipped %v and output:\n%s\nwant a reason", r.Skipped, out.String())
	}
}
