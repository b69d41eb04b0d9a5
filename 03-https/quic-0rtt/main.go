// QUIC resumption with 0-RTT (lecture 35): the request goes in the first
// datagram, next to the ClientHello, and the response comes back after one
// round trip. Then the danger: an attacker on the path replays that first
// datagram.
//
//	go run ./03-https/quic-0rtt
//	go run ./03-https/quic-0rtt -guard=false   # and watch the replay served
//
// Three visits on the repo's QUIC and HTTP/3 engines: a full handshake that
// leaves a ticket allowing 0-RTT (2 RTT); a GET in 0-RTT packets (1 RTT); a
// POST in 0-RTT, which the server answers 425 Too Early (RFC 8470) because
// it is not safe to run twice, and which the client sends again once the
// handshake is done (2 RTT). Then the attacker sends visit 2's first
// datagrams again from another port: with single-use tickets the server
// resumes nothing for it and the GET never reaches the handler; without,
// the handler serves it a second time.
package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"backend-protocols/03-https/internal/lab"
	"backend-protocols/03-https/internal/variant"
	"backend-protocols/03-https/internal/wire"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	lab.Reexec()
	cfg := config{Guard: true}
	p := demo.New("quic-0rtt",
		"QUIC 0-RTT: the request in the first datagram, 425 for unsafe methods, and a replay.",
		demo.Modes{Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
			_, err := scenario(ctx, tl, cfg)
			return err
		}})
	lab.Flags(p.Flags, &cfg.Lab)
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
	Full, Early, Post lab.Trip
	// Replay: the datagrams the attacker sent, what the handler had run
	// before and after, and the guard's refusals.
	Datagrams     int
	Before, After variant.EarlyStats
	Refused       int
	// Held: the server accepted the copy's 0-RTT data but, like visit 2's,
	// holds the request until a handshake the attacker cannot finish.
	Held    bool
	Skipped error // why there was no replay (on loopback)
}

// replayWait bounds the wait for the server to take or refuse the copy.
const replayWait = 5 * time.Second

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (report, error) {
	var r report
	l, err := lab.New(cfg.Lab)
	if err != nil {
		return r, err
	}
	defer l.Close()
	tl.Note("lab", "%s", l.Describe())
	s, err := variant.StartQUIC(l, true, cfg.Guard)
	if err != nil {
		return r, err
	}
	defer s.Close()
	c := s.Client()

	tl.Printf("\n== visit 1: full handshake; the server's ticket allows 0-RTT ==")
	if r.Full, err = c.Fetch(ctx, "QUIC", 2, http.MethodGet); err != nil {
		return r, err
	}
	lab.Report(tl, r.Full)

	tl.Printf("\n== visit 2: GET in 0-RTT packets, in the first datagram ==")
	if r.Early, err = c.Fetch(ctx, "QUIC 0-RTT", 1, http.MethodGet); err != nil {
		return r, err
	}
	lab.Report(tl, r.Early)
	if !r.Early.EarlyData {
		return r, fmt.Errorf("visit 2: the server refused the 0-RTT data")
	}

	tl.Printf("\n== visit 3: POST in 0-RTT: 425 Too Early, sent again after the handshake ==")
	if r.Post, err = c.Fetch(ctx, "QUIC POST in 0-RTT: 425", 2, http.MethodPost); err != nil {
		return r, err
	}
	lab.Report(tl, r.Post)

	tl.Printf("\n== replay: an attacker on the path sends visit 2's first datagrams again ==")
	if err := replay(ctx, tl, l, s, &r, cfg.Guard); err != nil {
		return r, err
	}
	st := s.Stats()
	tl.Printf("\nhandler: %d requests from 0-RTT, %d answered 425 Too Early, "+
		"%d after a handshake", st.Early, st.TooEarly, st.Late)
	tl.Printf("")
	lab.PrintTable(tl, []lab.Trip{r.Full, r.Early, r.Post})
	if r.Early.EarlyHeld {
		tl.Printf("\nQUIC 0-RTT measured 2 RTT, not 1: the server took the request in " +
			"0-RTT packets but answered only once the handshake was done, not at " +
			"0.5-RTT (RFC 9001 section 4.1.1).")
	}
	if !l.Emulated() {
		tl.Printf("\nOn loopback the UDP relay delays every datagram, so the round "+
			"trips are measured; packets are not measured (no capture), so there is "+
			"no replay (%v).", l.Fallback)
	}
	return r, nil
}

// replay copies visit 2's first datagrams from the capture and sends them
// again once the server has forgotten visit 2's connection.
func replay(ctx context.Context, tl *timeline.Timeline, l *lab.Lab,
	s *variant.QUICServer, r *report, guard bool) error {
	datagrams := wire.FirstDatagrams(r.Early.Packets)
	if len(datagrams) == 0 {
		r.Skipped = fmt.Errorf("not measured here: no packets captured (%v)", l.Fallback)
		tl.Note("attacker", "%v", r.Skipped)
		return nil
	}
	r.Datagrams = len(datagrams)
	// While visit 2's connection lives, the server routes a copy of its
	// first packets to it, which drops them as duplicates.
	wctx, cancel := context.WithTimeout(ctx, replayWait)
	defer cancel()
	if err := s.Quiet(wctx); err != nil {
		return err
	}
	r.Before = s.Stats()
	acceptedBefore := s.Accepted()
	refusedBefore := 0
	if s.Guard != nil {
		refusedBefore = s.Guard.Refused()
	}
	if err := variant.ReplayDatagrams(ctx, l, s.Addr, datagrams); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	tl.Note("attacker", "sent %d datagrams copied from the wire (Initial with the "+
		"ClientHello, 0-RTT with the GET) from a new port", r.Datagrams)
	// Wait for the server's decision: the guard refuses when it opens the
	// ticket; without a guard the handler runs, or, on an engine that
	// holds 0-RTT requests until the handshake completes (as visit 2
	// showed), the server accepts the copy's connection and waits.
	for deadline := time.Now().Add(replayWait); ; {
		r.After = s.Stats()
		if s.Guard != nil {
			r.Refused = s.Guard.Refused() - refusedBefore
		}
		r.Held = r.Early.EarlyHeld && s.Accepted() > acceptedBefore
		if r.Refused > 0 || r.After.Early > r.Before.Early || r.Held {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replay: the server neither refused nor served the copy")
		}
		time.Sleep(time.Millisecond)
	}
	switch served := r.After.Early - r.Before.Early; {
	case served > 0:
		tl.Note("server", "served the replayed GET from 0-RTT again: nothing stops "+
			"a replay without a guard (a POST would still get 425)")
		if guard {
			return fmt.Errorf("replay: the guarded server served the copy")
		}
	case r.Refused == 0 && r.Held:
		tl.Note("server", "took the copy's 0-RTT data but held the request for a "+
			"handshake the attacker cannot finish: not served")
	default:
		tl.Note("server", "the ticket had carried 0-RTT data before: 0-RTT refused, "+
			"its packets dropped undecrypted; the GET never reached the handler")
	}
	return nil
}
