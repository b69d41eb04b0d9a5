// TLS 1.3 with 0-RTT early data over TCP (lecture 34): the HTTP request
// travels in the client's first flight, next to the ClientHello, and the
// server reads it before the handshake completes.
//
//	go run ./03-https/tls13-0rtt
//	go run ./03-https/tls13-0rtt -guard=false   # and watch the replay succeed
//
// Four visits: a full handshake that leaves a ticket (3 RTT); a GET as
// early data, answered with the server's first flight (2 RTT); the same
// with TCP Fast Open, the ClientHello and the GET in the SYN (1 RTT); a
// POST as early data, which the server refuses with 425 Too Early until
// the handshake is done. Then an attacker on the path replays visit 2's
// first flight: the server, whose tickets are single-use for early data,
// resumes nothing for it. Go's crypto/tls has no early data on TCP; this
// demo's engine, earlytls, runs crypto/tls's QUIC handshake over TLS
// records of its own (see earlytls/doc.go for its limits).
package main

import (
	"context"
	"fmt"
	"net/http"

	"backend-protocols/03-https/internal/lab"
	"backend-protocols/03-https/internal/variant"
	"backend-protocols/03-https/internal/wire"
	"backend-protocols/internal/timeline"
)

func main() {
	cfg := config{Guard: true}
	rn := variant.Real{Early: true}
	p := variant.Program("tls13-0rtt",
		"TLS 1.3 early data over TCP: the request in the first flight, and its replay.",
		&cfg.Lab, &rn,
		func(caFile, port string) string {
			return "go run ./03-https/tls13-0rtt -connect localhost:" + port + " -cacert " + caFile
		},
		func(ctx context.Context, tl *timeline.Timeline) error {
			_, err := scenario(ctx, tl, cfg)
			return err
		})
	p.Flags.BoolVar(&cfg.Guard, "guard", true,
		"make tickets single-use for early data, so replays are refused")
	p.Main()
}

type config struct {
	Lab   lab.Config
	Guard bool
}

// report is what the scenario measured.
type report struct {
	Full, Early, FastOpen, Post lab.Trip
	// Replay: the bytes the attacker copied and sent, and how many
	// requests the server's handler ran before and after it.
	Flight        int
	Before, After variant.EarlyStats
	Refused       int // early data the guard refused
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (report, error) {
	var r report
	l, err := lab.New(cfg.Lab)
	if err != nil {
		return r, err
	}
	defer l.Close()
	tl.Note("lab", "%s", l.Describe())
	s, err := variant.StartEarly(l, cfg.Guard)
	if err != nil {
		return r, err
	}
	defer s.Close()
	c := s.Client()
	tfo := l.Emulated() // Fast Open needs our own namespaces

	tl.Printf("\n== visit 1: full handshake; the server's ticket allows early data ==")
	if r.Full, err = c.Fetch(ctx, "TCP + TLS 1.3", 3, http.MethodGet, tfo); err != nil {
		return r, err
	}
	lab.Report(tl, r.Full)

	tl.Printf("\n== visit 2: GET as early data, in the ClientHello's flight ==")
	if r.Early, err = c.Fetch(ctx, "TCP + TLS 1.3 0-RTT", 2, http.MethodGet, false); err != nil {
		return r, err
	}
	lab.Report(tl, r.Early)
	if !r.Early.EarlyData {
		return r, fmt.Errorf("visit 2: the server refused the early data")
	}

	if tfo {
		tl.Printf("\n== visit 3: the same with TCP Fast Open: ClientHello and GET in the SYN ==")
		if r.FastOpen, err = c.Fetch(ctx, "TFO + TLS 1.3 0-RTT", 1, http.MethodGet, true); err != nil {
			return r, err
		}
		lab.Report(tl, r.FastOpen)
	} else {
		tl.Printf("\n== visit 3: TCP Fast Open: not measured here (%v) ==", l.Fallback)
	}

	tl.Printf("\n== visit 4: POST as early data: 425 Too Early, sent again after the handshake ==")
	if r.Post, err = c.Fetch(ctx, "POST in 0-RTT: 425, retry", 3, http.MethodPost, false); err != nil {
		return r, err
	}
	lab.Report(tl, r.Post)

	tl.Printf("\n== replay: an attacker on the path sends visit 2's first flight again ==")
	flight := wire.FirstFlight(r.Early.Packets)
	r.Flight = len(flight)
	r.Before = s.Stats()
	n, err := variant.Replay(ctx, l, s.Addr, flight)
	if err != nil {
		return r, fmt.Errorf("replay: %w", err)
	}
	r.After = s.Stats()
	if s.Guard != nil {
		r.Refused = s.Guard.Refused()
	}
	tl.Note("attacker", "sent %d bytes copied from the wire (ClientHello and early data); "+
		"the server answered %d bytes it cannot read", r.Flight, n)
	served := r.After.Early - r.Before.Early
	switch {
	case cfg.Guard && served == 0:
		tl.Note("server", "the ticket had carried early data before: early data "+
			"refused and skipped (%d refusals), the GET never reached the handler", r.Refused)
	case served > 0:
		tl.Note("server", "served the replayed GET from early data again (%d time): "+
			"nothing stops a replay without a guard; a POST would be refused by "+
			"the 425 rule alone", served)
	}
	if cfg.Guard && served != 0 {
		return r, fmt.Errorf("replay: the guarded server served the copy")
	}
	st := s.Stats()
	tl.Printf("\nhandler: %d requests from early data, %d answered 425 Too Early, "+
		"%d after a handshake", st.Early, st.TooEarly, st.Late)
	tl.Printf("")
	trips := []lab.Trip{r.Full, r.Early}
	if tfo {
		trips = append(trips, r.FastOpen)
	}
	lab.PrintTable(tl, append(trips, r.Post))
	l.Caveats(tl)
	return r, nil
}
