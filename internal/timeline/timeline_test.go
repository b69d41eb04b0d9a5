package timeline

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLineFormat(t *testing.T) {
	cases := []struct {
		e    Event
		want string
	}{
		{Event{At: 12400 * time.Microsecond, Kind: Send, From: "client",
			To: "server", Text: "POST /submit"},
			"   +12.4ms  client -> server   POST /submit"},
		{Event{At: 0, Kind: Note, From: "server", Text: "listening"},
			"    +0.0ms  server             listening"},
		{Event{Kind: Text, Text: "== heading =="}, "== heading =="},
	}
	for _, c := range cases {
		if got := c.e.String(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func TestRecordsAndPrints(t *testing.T) {
	var buf bytes.Buffer
	tl := New(&buf)
	tl.Send("client", "server", "GET /%s", "x")
	tl.Note("server", "answered %d", 200)
	tl.Printf("done")
	ev := tl.Events()
	if len(ev) != 3 {
		t.Fatalf("got %d events, want 3", len(ev))
	}
	if ev[0].Text != "GET /x" || ev[0].Kind != Send || ev[0].To != "server" {
		t.Errorf("got first event %+v", ev[0])
	}
	if ev[1].At < ev[0].At {
		t.Errorf("events out of order: %v then %v", ev[0].At, ev[1].At)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[0], "client -> server   GET /x") {
		t.Errorf("got printed lines %q", lines)
	}
}

func TestQuietRecordsOnly(t *testing.T) {
	tl := Quiet()
	tl.Note("a", "x")
	if n := len(tl.Events()); n != 1 {
		t.Errorf("got %d events, want 1", n)
	}
}

func TestStreamKeepsNothing(t *testing.T) {
	var buf bytes.Buffer
	tl := Stream(&buf)
	tl.Note("server", "listening")
	if n := len(tl.Events()); n != 0 {
		t.Errorf("got %d events kept, want 0", n)
	}
	if !strings.Contains(buf.String(), "listening") {
		t.Errorf("got %q printed", buf.String())
	}
}

func TestConcurrentUse(t *testing.T) {
	tl := Quiet()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				tl.Send(fmt.Sprint("c", i), "server", "%d", j)
			}
		})
	}
	wg.Wait()
	if n := len(tl.Events()); n != 800 {
		t.Errorf("got %d events, want 800", n)
	}
}

func TestHistoryIsBounded(t *testing.T) {
	tl := Quiet()
	for i := range maxEvents + 10 {
		tl.Note("a", "%d", i)
	}
	ev := tl.Events()
	if len(ev) > maxEvents {
		t.Fatalf("got %d events, want at most %d", len(ev), maxEvents)
	}
	if last := ev[len(ev)-1].Text; last != fmt.Sprint(maxEvents+9) {
		t.Errorf("got last event %q, want the newest", last)
	}
}

func TestFlightsAndRoundTrips(t *testing.T) {
	tl := Quiet()
	// A TCP + TLS 1.3 handshake and one request.
	tl.Send("client", "server", "SYN")
	tl.Send("server", "client", "SYN-ACK")
	tl.Send("client", "server", "ACK")
	tl.Send("client", "server", "ClientHello")
	tl.Note("server", "not a message")
	tl.Send("server", "client", "ServerHello ... Finished")
	tl.Send("client", "server", "Finished")
	tl.Send("client", "server", "GET /")
	tl.Send("other", "server", "ignored")
	tl.Send("server", "client", "200 OK")
	f := Flights(tl.Events(), "client", "server")
	if len(f) != 6 {
		t.Fatalf("got %d flights, want 6", len(f))
	}
	if got := len(f[2].Messages); got != 2 {
		t.Errorf("got %d messages in flight 3, want 2 (ACK, ClientHello)", got)
	}
	if got := RoundTrips(f); got != 3 {
		t.Errorf("got %d round trips, want 3", got)
	}
	if got := RoundTrips(nil); got != 0 {
		t.Errorf("got %d round trips for nothing, want 0", got)
	}
}

func TestLadder(t *testing.T) {
	events := []Event{
		{At: 0, Kind: Send, From: "client", To: "server", Text: "SYN"},
		{At: 50 * time.Millisecond, Kind: Send, From: "server",
			To: "client", Text: "SYN-ACK"},
		{At: 50 * time.Millisecond, Kind: Send, From: "client",
			To: "server", Text: strings.Repeat("x", 100)},
	}
	var buf bytes.Buffer
	Ladder(&buf, events, "client", "server")
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) != 7 {
		t.Fatalf("got %d lines, want 7:\n%s", len(lines), buf.String())
	}
	// Every arrow spans the same width, rail to rail.
	width := len([]rune(lines[1]))
	for _, l := range lines[1:6] {
		if n := len([]rune(l)); n != width {
			t.Errorf("line %q is %d runes wide, want %d", l, n, width)
		}
		if !strings.HasSuffix(l, "|") {
			t.Errorf("line %q does not end on the right rail", l)
		}
	}
	if !strings.Contains(lines[1], "|-- SYN --") ||
		!strings.Contains(lines[3], "SYN-ACK --|") ||
		!strings.Contains(lines[3], "|<--") {
		t.Errorf("arrows point the wrong way:\n%s", buf.String())
	}
	if !strings.Contains(lines[5], "…") {
		t.Errorf("long label not shortened: %q", lines[5])
	}
	if !strings.HasSuffix(lines[6], "3 flights, 1 round trip") {
		t.Errorf("got summary %q", lines[6])
	}
}

func TestVisible(t *testing.T) {
	got := Visible([]byte("GET / HTTP/1.1\r\n\x00\xff\tz"))
	want := "GET / HTTP/1.1\\r\\n\n\\x00\\xff\\tz"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func ExampleLadder() {
	// Fixed times make the example's output deterministic.
	events := []Event{
		{At: 0, Kind: Send, From: "client", To: "server", Text: "SYN"},
		{At: 50 * time.Millisecond, Kind: Send, From: "server",
			To: "client", Text: "SYN-ACK"},
		{At: 100 * time.Millisecond, Kind: Send, From: "client",
			To: "server", Text: "ACK"},
		{At: 100 * time.Millisecond, Kind: Send, From: "client",
			To: "server", Text: "GET /"},
		{At: 150 * time.Millisecond, Kind: Send, From: "server",
			To: "client", Text: "200 OK"},
	}
	Ladder(os.Stdout, events, "client", "server")
	// Output:
	//             client                                  server
	//     +0.0ms  |-- SYN ------------------------------------>|
	//             |                                            |
	//    +50.0ms  |<-------------------------------- SYN-ACK --|
	//             |                                            |
	//   +100.0ms  |-- ACK ------------------------------------>|
	//   +100.0ms  |-- GET / ---------------------------------->|
	//             |                                            |
	//   +150.0ms  |<--------------------------------- 200 OK --|
	//             4 flights, 2 round trips
}
