// Package timeline prints what a demo does as a timed narrative and keeps
// every line as an Event that tests can read back.
//
// Each line starts with the time since the timeline began and names who acted:
//
//	+12.4ms  client -> server   POST /submit
//	+13.1ms  server             job job:1700000000000 created
//
// A Timeline made with a nil writer (or Quiet) prints nothing and still
// records, which is how tests watch a scenario. Ladder draws the messages
// between two actors as a ladder diagram of flights; the handshake demos of
// 03-https count round trips with Flights and RoundTrips.
package timeline

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Kind says what an Event records.
type Kind int

const (
	// Note is something one actor did or saw.
	Note Kind = iota
	// Send is a message that crossed the wire from one actor to another.
	Send
	// Text is a free line: a heading, a table row, a blank line.
	Text
)

// Event is one line of the narrative.
type Event struct {
	At   time.Duration // since the timeline started
	Kind Kind
	From string // the acting actor; the sender of a Send
	To   string // the receiver of a Send; empty otherwise
	Text string
}

// maxEvents bounds the memory a long -serve run spends on its history; the
// oldest half is dropped when it is reached. Printing is never affected.
const maxEvents = 1 << 16

// Timeline is a concurrency-safe narrative. The zero value is not usable;
// call New or Quiet.
type Timeline struct {
	mu      sync.Mutex
	start   time.Time
	w       io.Writer
	noKeep  bool // print only; see Stream
	events  []Event
	dropped int
}

// New returns a timeline that starts now and prints to w. A nil w prints
// nothing.
func New(w io.Writer) *Timeline {
	return &Timeline{start: time.Now(), w: w}
}

// Quiet returns a timeline that records events without printing them.
func Quiet() *Timeline { return New(nil) }

// Stream returns a timeline that prints to w (nothing if w is nil) and
// keeps no history, for servers that run until interrupted: their memory
// stays what the server itself uses.
func Stream(w io.Writer) *Timeline {
	return &Timeline{start: time.Now(), w: w, noKeep: true}
}

// Start reports when the timeline began.
func (t *Timeline) Start() time.Time { return t.start }

// Since reports the time elapsed since the timeline began.
func (t *Timeline) Since() time.Duration { return time.Since(t.start) }

// Send records and prints a message from one actor to another.
func (t *Timeline) Send(from, to, format string, args ...any) Event {
	return t.add(Event{Kind: Send, From: from, To: to,
		Text: fmt.Sprintf(format, args...)})
}

// Note records and prints something an actor did or saw.
func (t *Timeline) Note(actor, format string, args ...any) Event {
	return t.add(Event{Kind: Note, From: actor,
		Text: fmt.Sprintf(format, args...)})
}

// Printf records and prints a free line without a time stamp, for headings
// and tables of results. A trailing newline is not needed.
func (t *Timeline) Printf(format string, args ...any) {
	t.add(Event{Kind: Text, Text: fmt.Sprintf(format, args...)})
}

func (t *Timeline) add(e Event) Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	e.At = time.Since(t.start)
	if t.noKeep {
		if t.w != nil {
			io.WriteString(t.w, e.String()+"\n")
		}
		return e
	}
	if len(t.events) == maxEvents {
		n := copy(t.events, t.events[maxEvents/2:])
		t.events = t.events[:n]
		t.dropped += maxEvents / 2
	}
	t.events = append(t.events, e)
	if t.w != nil {
		io.WriteString(t.w, e.String()+"\n")
	}
	return e
}

// Events returns a copy of the recorded events, oldest first.
func (t *Timeline) Events() []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Event(nil), t.events...)
}

// Find returns the recorded events for which keep reports true.
func (t *Timeline) Find(keep func(Event) bool) []Event {
	var out []Event
	for _, e := range t.Events() {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// Between returns the Send events between actors a and b, in either
// direction, oldest first.
func (t *Timeline) Between(a, b string) []Event {
	return t.Find(func(e Event) bool {
		return e.Kind == Send &&
			(e.From == a && e.To == b || e.From == b && e.To == a)
	})
}

// String formats the event as the line the timeline prints.
func (e Event) String() string {
	if e.Kind == Text {
		return e.Text
	}
	who := e.From
	if e.Kind == Send {
		who = e.From + " -> " + e.To
	}
	return fmt.Sprintf("%10s  %-18s %s", Stamp(e.At), who, e.Text)
}

// Stamp formats a time offset the way the narrative prints it: "+12.4ms".
func Stamp(d time.Duration) string {
	return fmt.Sprintf("+%.1fms", float64(d)/float64(time.Millisecond))
}

// Ms formats a duration in milliseconds with one decimal, for tables.
func Ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

// indent returns s with every line prefixed by pre; used by Dump.
func indent(pre, s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n")
}

// Dump prints a block of bytes from the wire under a title, with CR and LF
// made visible and every line indented, so a reader sees exactly what was
// sent. Other control bytes are shown as \xNN.
func (t *Timeline) Dump(title string, b []byte) {
	t.Printf("%s (%d bytes):\n%s", title, len(b), indent("    | ", Visible(b)))
}

// Visible renders bytes from the wire as text: "\r\n" becomes "\r\n" plus a
// line break, other control and non-ASCII bytes become \xNN escapes.
func Visible(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '\r':
			sb.WriteString(`\r`)
		case c == '\n':
			sb.WriteString(`\n` + "\n")
		case c == '\t':
			sb.WriteString(`\t`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&sb, `\x%02x`, c)
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}
