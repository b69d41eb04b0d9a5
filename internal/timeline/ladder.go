package timeline

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Flight is a run of messages sent in one direction without an answer in
// between: what one side puts on the wire before it waits for the other.
type Flight struct {
	From, To string
	At       time.Duration // when its first message was sent
	Messages []Event
}

// Flights groups the Send events between actors a and b into flights.
func Flights(events []Event, a, b string) []Flight {
	var out []Flight
	for _, e := range events {
		if e.Kind != Send ||
			!(e.From == a && e.To == b || e.From == b && e.To == a) {
			continue
		}
		if n := len(out); n > 0 && out[n-1].From == e.From {
			out[n-1].Messages = append(out[n-1].Messages, e)
			continue
		}
		out = append(out, Flight{From: e.From, To: e.To, At: e.At,
			Messages: []Event{e}})
	}
	return out
}

// RoundTrips counts the round trips in a sequence of flights: every flight
// from the initiator (the sender of the first flight) that the other side
// answers. A TCP handshake followed by one request and its response is two.
func RoundTrips(flights []Flight) int {
	if len(flights) == 0 {
		return 0
	}
	initiator, n := flights[0].From, 0
	for i := 0; i+1 < len(flights); i++ {
		if flights[i].From == initiator && flights[i+1].From != initiator {
			n++
		}
	}
	return n
}

// ladderWidth is the number of columns between the two actors' rails.
const ladderWidth = 44

// Ladder draws the Send events between left and right as a ladder diagram:
// one arrow per message, a blank line between flights, the send time on the
// left, and the round-trip count at the bottom.
func Ladder(w io.Writer, events []Event, left, right string) {
	flights := Flights(events, left, right)
	var sb strings.Builder
	gap := max(ladderWidth+2-len(left)-len(right), 1)
	fmt.Fprintf(&sb, "%10s  %s%*s%s\n", "", left, gap, "", right)
	for i, f := range flights {
		if i > 0 {
			fmt.Fprintf(&sb, "%10s  |%*s|\n", "", ladderWidth, "")
		}
		for _, m := range f.Messages {
			fmt.Fprintf(&sb, "%10s  %s\n", Stamp(m.At),
				arrow(m.Text, m.From == left))
		}
	}
	fmt.Fprintf(&sb, "%10s  %s, %s\n", "", plural(len(flights), "flight"),
		plural(RoundTrips(flights), "round trip"))
	io.WriteString(w, sb.String())
}

// arrow draws one message between the rails, pointing right or left.
func arrow(label string, rightward bool) string {
	room := ladderWidth - 6 // rails, arrow heads, spaces and one dash
	if r := []rune(label); len(r) > room {
		label = string(r[:room-1]) + "…"
	}
	fill := strings.Repeat("-", ladderWidth-5-len([]rune(label)))
	if rightward {
		return "|-- " + label + " " + fill + ">|"
	}
	return "|<" + fill + " " + label + " --|"
}

// Ladder draws this timeline's messages between left and right; see the
// package-level Ladder.
func (t *Timeline) Ladder(left, right string) {
	var sb strings.Builder
	Ladder(&sb, t.Events(), left, right)
	t.Printf("%s", strings.TrimRight(sb.String(), "\n"))
}

// plural writes a count with its noun: "1 flight", "2 flights".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
