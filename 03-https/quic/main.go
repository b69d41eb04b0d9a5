// HTTPS over QUIC (lecture 32): one HTTP/3 fetch with a full QUIC
// handshake, then a second one resumed with the ticket the first left
// behind, on the repo's own QUIC and HTTP/3 engines (02-protocols/http3),
// across a path with a 50 ms round trip.
//
//	go run ./03-https/quic
//	go run ./03-https/quic -rtt 100ms
//
// Watch the ladders: QUIC has no TCP handshake, and its first flight is
// the ClientHello (in an Initial packet), so the handshake takes one
// round trip and the response comes after 2 RTT, against TCP + TLS 1.3's
// 3. The labels come from the engine's own trace (packet type and frames),
// since everything but the long headers is encrypted on the wire.
package main

import (
	"context"
	"fmt"
	"net/http"

	"backend-protocols/03-https/internal/lab"
	"backend-protocols/03-https/internal/variant"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	lab.Reexec()
	var cfg lab.Config
	p := demo.New("quic",
		"HTTPS over QUIC (HTTP/3): a full handshake, then a resumed one, in round trips.",
		demo.Modes{Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
			_, err := scenario(ctx, tl, cfg)
			return err
		}})
	lab.Flags(p.Flags, &cfg)
	p.Main()
}

// report is what the scenario measured.
type report struct {
	Full, Resumed lab.Trip
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg lab.Config) (report, error) {
	var r report
	l, err := lab.New(cfg)
	if err != nil {
		return r, err
	}
	defer l.Close()
	tl.Note("lab", "%s", l.Describe())
	s, err := variant.StartQUIC(l, false, false)
	if err != nil {
		return r, err
	}
	defer s.Close()
	c := s.Client()

	tl.Printf("\n== visit 1: full QUIC handshake, then GET / over HTTP/3 ==")
	if r.Full, err = c.Fetch(ctx, "QUIC", 2, http.MethodGet); err != nil {
		return r, err
	}
	lab.Report(tl, r.Full)

	tl.Printf("\n== visit 2: a new connection, resumed with the ticket from visit 1 ==")
	if r.Resumed, err = c.Fetch(ctx, "QUIC, resumed", 2, http.MethodGet); err != nil {
		return r, err
	}
	lab.Report(tl, r.Resumed)
	if !r.Resumed.Resumed {
		return r, fmt.Errorf("visit 2 was not resumed")
	}
	tl.Printf("")
	lab.PrintTable(tl, []lab.Trip{r.Full, r.Resumed})
	if !l.Emulated() {
		tl.Printf("\nOn loopback the UDP relay delays every datagram as the link would, "+
			"so QUIC's round trips are measured; its packets are not measured (no "+
			"capture without namespaces: %v).", l.Fallback)
	}
	return r, nil
}
