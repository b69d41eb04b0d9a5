package lab

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"backend-protocols/03-https/internal/wire"
	"backend-protocols/internal/timeline"
)

// Trip is one measured fetch: from the moment the client began (before it
// dialled) to the first byte of the response, with the packets of the
// fetch's connection that were sent in that time.
type Trip struct {
	Name      string // what was fetched how: "TCP + TLS 1.3, resumed"
	Predicted int    // round trips the lecture predicts
	RTT       time.Duration
	Start     time.Duration // when the client began, since the lab began
	TTFB      time.Duration // time to the first byte of the response
	Packets   []wire.Packet
	Emulated  bool     // false on the loopback fallback
	Status    string   // the response's status line
	Notes     []string // what the client saw: versions, resumption, ...
	// Facts a variant adds after the fetch: whether the SYN carried
	// data (TCP_INFO), and how the hosts' TCPFastOpen* counters moved,
	// as "client TCPFastOpenActive" -> 1.
	SYNData  bool
	Counters map[string]int64
	// Resumed and EarlyData say whether the TLS session was resumed and
	// whether the server took the request as 0-RTT early data.
	Resumed   bool
	EarlyData bool
	// EarlyHeld says the server took the request as early data but
	// answered it only after the handshake completed.
	EarlyHeld bool
	// Events are the trip's packets as a ladder's Send events between
	// "client" and "server", named by wire.Describe with the lab's keys
	// and timed from the trip's start; bare acknowledgements after the
	// handshake are left out.
	Events []timeline.Event
}

// RoundTrips is the time to the first response byte in round trips.
func (t Trip) RoundTrips() float64 { return float64(t.TTFB) / float64(t.RTT) }

// Bytes counts the packets and bytes (IP headers included; on loopback,
// the bytes written) each way.
func (t Trip) Bytes() (upPkts, upBytes, downPkts, downBytes int) {
	for _, p := range t.Packets {
		if p.Up {
			upPkts++
			upBytes += p.Size()
		} else {
			downPkts++
			downBytes += p.Size()
		}
	}
	return
}

// Lost counts the packets the path dropped during the trip.
func (t Trip) Lost() int {
	n := 0
	for _, p := range t.Packets {
		if p.Dropped {
			n++
		}
	}
	return n
}

// Result is what a fetch reports to Measure.
type Result struct {
	FirstByte time.Time // when the first byte of the response arrived
	// Local is the client's address on the fetch's connection, so that
	// only its packets are kept; nil keeps every packet.
	Local  net.Addr
	Status string
	Notes  []string
}

// Measure runs fetch, which should dial, handshake and send one request
// and report when the response began, and returns the trip.
func (l *Lab) Measure(ctx context.Context, name string, predicted int,
	fetch func(context.Context) (Result, error)) (Trip, error) {
	start := time.Now()
	res, err := fetch(ctx)
	if err != nil {
		return Trip{}, fmt.Errorf("%s: %w", name, err)
	}
	if res.FirstByte.IsZero() {
		return Trip{}, fmt.Errorf("%s: no response", name)
	}
	t := Trip{Name: name, Predicted: predicted, RTT: l.cfg.RTT,
		Start: l.cap.since(start), TTFB: res.FirstByte.Sub(start),
		Emulated: l.Emulated(), Status: res.Status, Notes: res.Notes}
	port := 0
	switch a := res.Local.(type) {
	case *net.TCPAddr:
		port = a.Port
	case *net.UDPAddr:
		port = a.Port
	}
	// Keep what the client sent until the first byte arrived, and what
	// the server sent early enough to arrive by then: a packet takes half
	// a round trip, and a quarter is margin.
	end := t.Start + t.TTFB
	t.Packets = l.cap.window(t.Start, end, func(p wire.Packet) bool {
		if !p.Up && p.At > end-l.cfg.RTT/4 {
			return false
		}
		got, ok := wire.ClientPort(p)
		return port == 0 || !ok || got == port
	})
	t.Events = events(t, l.Keys)
	return t, nil
}

// events names the trip's packets for its ladder.
func events(t Trip, keys wire.Secrets) []timeline.Event {
	var out []timeline.Event
	for _, m := range wire.Describe(t.Packets, keys) {
		if m.Quiet {
			continue
		}
		e := timeline.Event{At: m.At - t.Start, Kind: timeline.Send,
			From: "server", To: "client", Text: m.Text}
		if m.Up {
			e.From, e.To = "client", "server"
		}
		out = append(out, e)
	}
	return out
}

// Flights counts the round trips on the trip's ladder: client flights the
// server answered.
func (t Trip) Flights() int {
	return timeline.RoundTrips(timeline.Flights(t.Events, "client", "server"))
}

// Has reports whether the ladder shows a message with exactly this text.
func (t Trip) Has(text string) bool {
	for _, e := range t.Events {
		if e.Text == text {
			return true
		}
	}
	return false
}

// Report prints the trip to tl: its ladder, then the time to the first
// byte against the prediction, and the bytes on the wire.
func Report(tl *timeline.Timeline, t Trip) {
	if len(t.Events) > 0 {
		var sb strings.Builder
		timeline.Ladder(&sb, t.Events, "client", "server")
		tl.Printf("%s", strings.TrimRight(sb.String(), "\n"))
	} else {
		tl.Printf("  (no ladder: nothing was captured)")
	}
	up, upB, down, downB := t.Bytes()
	what := "packets"
	if !t.Emulated {
		what = "writes"
	}
	tl.Printf("  first response byte after %s = %.2f RTT (predicted %d)",
		timeline.Ms(t.TTFB), t.RoundTrips(), t.Predicted)
	tl.Printf("  on the wire until then: %d %s, %d B up; %d %s, %d B down",
		up, what, upB, down, what, downB)
	if len(t.Notes) > 0 {
		tl.Printf("  %s", strings.Join(t.Notes, "; "))
	}
}

// SentPacket is a packet an endpoint reports sending (from a QUIC
// engine's trace, which sees inside the encryption), for a ladder that
// names what the capture cannot read.
type SentPacket struct {
	At     time.Time
	Client bool
	Text   string
	Quiet  bool // only acknowledges: left off the ladder
}

// Ladder returns ladder events for trip from packets the endpoints report
// sending, kept by the same window as the capture's (what the client
// sent until the first byte, what the server sent early enough to arrive
// by then). Use it where the capture can only name packets by their
// headers, as with QUIC.
func (l *Lab) Ladder(t Trip, logs ...[]SentPacket) []timeline.Event {
	var all []SentPacket
	for _, log := range logs {
		all = append(all, log...)
	}
	slices.SortStableFunc(all, func(a, b SentPacket) int { return a.At.Compare(b.At) })
	end := t.Start + t.TTFB
	var out []timeline.Event
	for _, p := range all {
		at := l.cap.since(p.At)
		if p.Quiet || at < t.Start || at > end || !p.Client && at > end-l.cfg.RTT/4 {
			continue
		}
		e := timeline.Event{At: at - t.Start, Kind: timeline.Send,
			From: "server", To: "client", Text: p.Text}
		if p.Client {
			e.From, e.To = "client", "server"
		}
		out = append(out, e)
	}
	return out
}
