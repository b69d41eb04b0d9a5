package eventsource

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"
)

// decodeAll returns every event of a stream, and the decoder for its state.
func decodeAll(t *testing.T, stream string) ([]Event, *Decoder) {
	t.Helper()
	d := NewDecoder(strings.NewReader(stream))
	var out []Event
	for {
		e, err := d.Next()
		if errors.Is(err, io.EOF) {
			return out, d
		}
		if err != nil {
			t.Fatalf("stream %q: %v", stream, err)
		}
		out = append(out, e)
	}
}

func msg(data, id string) Event { return Event{Type: "message", Data: data, ID: id} }

// The first four cases are the examples of the HTML standard's section
// 9.2.6, "Interpreting an event stream".
func TestSpecExamples(t *testing.T) {
	cases := []struct {
		name, stream string
		want         []Event
	}{
		{"three data lines", "data: YHOO\ndata: +2\ndata: 10\n\n",
			[]Event{msg("YHOO\n+2\n10", "")}},
		{"comments, ids and spaces",
			": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
			[]Event{msg("first event", "1"), msg("second event", ""), msg(" third event", "")}},
		{"empty data and a cut-off event", "data\n\ndata\ndata\n\ndata:",
			[]Event{msg("", ""), msg("\n", "")}},
		{"space after the colon is optional", "data:test\n\ndata: test\n\n",
			[]Event{msg("test", ""), msg("test", "")}},
		{"event type, reset after dispatch", "event: add\ndata: 7\n\ndata: 8\n\n",
			[]Event{{Type: "add", Data: "7"}, msg("8", "")}},
		{"id persists", "id: 5\ndata: a\n\ndata: b\n\n",
			[]Event{msg("a", "5"), msg("b", "5")}},
		{"CR line ends", "data: a\rdata: b\r\r",
			[]Event{msg("a\nb", "")}},
		{"CRLF line ends", "data: a\r\ndata: b\r\n\r\n",
			[]Event{msg("a\nb", "")}},
		{"mixed line ends", "data: a\r\n\ndata: b\r\rdata: c\n\r\n",
			[]Event{msg("a", ""), msg("b", ""), msg("c", "")}},
		{"leading BOM skipped once", "\uFEFFdata: a\n\n\uFEFFdata: b\n\n",
			[]Event{msg("a", "")}},
		{"id with NULL ignored", "id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
			[]Event{msg("a", "1"), msg("b", "1")}},
		{"unknown fields ignored", "foo: bar\ndata: a\nData: b\n\n",
			[]Event{msg("a", "")}},
		{"colon in value kept", "data: a: b\n\n", []Event{msg("a: b", "")}},
		{"field with no data is not dispatched", "event: x\nid: 9\n\ndata: y\n\n",
			[]Event{msg("y", "9")}},
		{"invalid UTF-8 replaced by maximal subpart",
			"data: a\xE2\x82b\xF0\x80\x80c\xFF\n\n",
			[]Event{msg("a\uFFFDb\uFFFD\uFFFD\uFFFDc\uFFFD", "")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _ := decodeAll(t, c.stream)
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestRetryAndLastEventID(t *testing.T) {
	_, d := decodeAll(t, "retry: 3000\nretry: 10x\nretry:\nid: 42\n\n")
	if d.Retry() != 3*time.Second {
		t.Errorf("got retry %v, want 3s (non-digit values ignored)", d.Retry())
	}
	if d.LastEventID() != "42" {
		t.Errorf("got last event ID %q, want 42 even with no event dispatched", d.LastEventID())
	}
	_, d = decodeAll(t, "retry: 99999999999999999999999\n\n")
	if d.Retry() != maxRetry {
		t.Errorf("got retry %v for a huge value, want the largest", d.Retry())
	}
}

func TestByteAtATime(t *testing.T) {
	// CR at the end of one read and LF at the start of the next are one
	// line ending.
	stream := "id: 1\r\ndata: a\r\n\r\ndata: b\r\r"
	d := NewDecoder(iotest.OneByteReader(strings.NewReader(stream)))
	var got []Event
	for {
		e, err := d.Next()
		if err != nil {
			break
		}
		got = append(got, e)
	}
	want := []Event{msg("a", "1"), msg("b", "1")}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLimits(t *testing.T) {
	d := NewDecoder(strings.NewReader("data: " + strings.Repeat("x", 100) + "\n\n"))
	d.MaxLine = 50
	if _, err := d.Next(); !errors.Is(err, ErrTooLong) {
		t.Errorf("long line: got %v, want ErrTooLong", err)
	}
	d = NewDecoder(strings.NewReader(strings.Repeat("data: xxxxxxxxxx\n", 20) + "\n"))
	d.MaxData = 100
	if _, err := d.Next(); !errors.Is(err, ErrTooLong) {
		t.Errorf("much data: got %v, want ErrTooLong", err)
	}
}

func TestEncoder(t *testing.T) {
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	e.Retry(1500 * time.Millisecond)
	e.Comment("keep-alive")
	e.Event("s.1", "", "hello")
	e.Event("s.2", "milestone", "two\nlines")
	e.Event("", "message", "a\r\nb\rc")
	want := "retry: 1500\n: keep-alive\n\nid: s.1\ndata: hello\n\n" +
		"event: milestone\nid: s.2\ndata: two\ndata: lines\n\n" +
		"data: a\ndata: b\ndata: c\n\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
	for _, bad := range [][2]string{{"a\nb", ""}, {"a\x00", ""}, {"", "x\ry"}} {
		if err := e.Event(bad[0], bad[1], "d"); !errors.Is(err, ErrBadField) {
			t.Errorf("Event(%q, %q): got %v, want ErrBadField", bad[0], bad[1], err)
		}
	}
}

func ExampleDecoder() {
	stream := "retry: 2000\n: hello\n\nid: 1\nevent: greeting\ndata: hi\ndata: there\n\n"
	d := NewDecoder(strings.NewReader(stream))
	e, _ := d.Next()
	fmt.Printf("%s %q id=%s retry=%v\n", e.Type, e.Data, e.ID, d.Retry())
	// Output: greeting "hi\nthere" id=1 retry=2s
}

func ExampleEncoder() {
	e := NewEncoder(os.Stdout)
	e.Event("7", "", "hello from server ---- [7]")
	// Output:
	// id: 7
	// data: hello from server ---- [7]
}

func FuzzDecoder(f *testing.F) {
	f.Add([]byte("data: YHOO\ndata: +2\ndata: 10\n\n"))
	f.Add([]byte("\xEF\xBB\xBFid: 1\r\nevent: x\rretry: 10\n\ndata\n\n"))
	f.Add([]byte("data: \xE2\x82\xF0\n\n: c\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder(bytes.NewReader(b))
		d.MaxLine, d.MaxData = 256, 1024
		for range len(b) + 1 {
			e, err := d.Next()
			if err != nil {
				return
			}
			if !utf8.ValidString(e.Data) || !utf8.ValidString(e.Type) ||
				strings.ContainsRune(e.ID, 0) || e.Type == "" || len(e.Data) > 1024 {
				t.Fatalf("bad event %q from %q", e, b)
			}
		}
		t.Fatalf("more events than bytes from %q", b)
	})
}

// FuzzRoundTrip checks that what the encoder writes, the decoder reads
// back unchanged (line breaks in data normalised to "\n").
func FuzzRoundTrip(f *testing.F) {
	f.Add("1", "tick", "hello\nworld")
	f.Add("", "", "")
	f.Add("x", "message", "a\r\nb\r")
	f.Fuzz(func(t *testing.T, id, typ, data string) {
		if !utf8.ValidString(id) || !utf8.ValidString(typ) || !utf8.ValidString(data) {
			return // the encoder's contract is about text
		}
		var buf bytes.Buffer
		if err := NewEncoder(&buf).Event(id, typ, data); err != nil {
			if !errors.Is(err, ErrBadField) {
				t.Fatal(err)
			}
			return
		}
		got, err := NewDecoder(&buf).Next()
		if err != nil {
			t.Fatalf("decoding %q: %v", buf.String(), err)
		}
		want := Event{Type: typ, Data: strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(data), ID: id}
		if want.Type == "" {
			want.Type = "message"
		}
		if got != want {
			t.Errorf("got %q, want %q (stream %q)", got, want, buf.String())
		}
	})
}
