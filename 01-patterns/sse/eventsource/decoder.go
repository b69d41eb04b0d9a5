package eventsource

import (
	"bufio"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is one dispatched event.
type Event struct {
	Type string // "message" unless the stream named another type
	Data string // data lines joined with "\n", without a trailing "\n"
	// ID is the last event ID when the event was dispatched: the id of
	// this event, or of an earlier one if this event set none.
	ID string
}

// Limits a Decoder applies unless told otherwise.
const (
	DefaultMaxLine = 64 << 10 // bytes in one line
	DefaultMaxData = 1 << 20  // bytes of data in one event
)

// maxRetry is the longest reconnection time a Duration holds.
const maxRetry = time.Duration(math.MaxInt64)

// ErrTooLong reports a line or an event's data beyond the decoder's limits.
var ErrTooLong = errors.New("eventsource: line or event data too long")

// Decoder reads events from a stream.
type Decoder struct {
	r *bufio.Reader

	// MaxLine and MaxData bound a line and an event's data, in bytes.
	MaxLine, MaxData int

	started   bool // the byte order mark check is done
	skipLF    bool // the previous line ended with CR: a following LF is part of it
	line      []byte
	lastID    string
	idBuf     string
	eventType string
	data      strings.Builder
	retry     time.Duration
}

// NewDecoder returns a decoder reading from r with the default limits.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: bufio.NewReader(r), MaxLine: DefaultMaxLine,
		MaxData: DefaultMaxData}
}

// LastEventID returns the last event ID set by the stream so far, to send
// as the Last-Event-ID header when reconnecting.
func (d *Decoder) LastEventID() string { return d.lastID }

// Retry returns the reconnection time the stream asked for, or 0 if it
// did not.
func (d *Decoder) Retry() time.Duration { return d.retry }

// Next returns the next event. At the end of the stream it returns io.EOF
// (any event not ended by a blank line is discarded); other errors are
// the reader's, or ErrTooLong.
func (d *Decoder) Next() (Event, error) {
	for {
		line, err := d.readLine()
		if err != nil {
			return Event{}, err
		}
		if len(line) == 0 {
			if e, ok := d.dispatch(); ok {
				return e, nil
			}
			continue
		}
		if line[0] == ':' {
			continue // a comment
		}
		field, value := line, ""
		if i := strings.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			value = strings.TrimPrefix(value, " ")
		}
		if err := d.process(field, value); err != nil {
			return Event{}, err
		}
	}
}

func (d *Decoder) process(field, value string) error {
	switch field {
	case "event":
		d.eventType = value
	case "data":
		if d.data.Len()+len(value)+1 > d.MaxData {
			return ErrTooLong
		}
		d.data.WriteString(value)
		d.data.WriteByte('\n')
	case "id":
		if !strings.ContainsRune(value, 0) {
			d.idBuf = value
		}
	case "retry":
		if value != "" && strings.Trim(value, "0123456789") == "" {
			// The spec sets no bound; keep the longest time we can hold.
			ms, err := strconv.ParseInt(value, 10, 64)
			if err != nil || ms > maxRetry.Milliseconds() {
				d.retry = maxRetry
			} else {
				d.retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
	return nil
}

// dispatch ends the current event, as the blank line asks.
func (d *Decoder) dispatch() (Event, bool) {
	d.lastID = d.idBuf
	if d.data.Len() == 0 {
		d.eventType = ""
		return Event{}, false
	}
	data := strings.TrimSuffix(d.data.String(), "\n")
	e := Event{Type: "message", Data: data, ID: d.lastID}
	if d.eventType != "" {
		e.Type = d.eventType
	}
	d.data.Reset()
	d.eventType = ""
	return e, true
}

// readLine returns the next line, decoded, without its terminator.
func (d *Decoder) readLine() (string, error) {
	d.line = d.line[:0]
	for {
		c, err := d.r.ReadByte()
		if err != nil {
			// EOF in the middle of a line: the line, and its event, are
			// incomplete and discarded.
			return "", err
		}
		if d.skipLF {
			d.skipLF = false
			if c == '\n' {
				continue
			}
		}
		switch c {
		case '\r':
			d.skipLF = true
			return d.decode(), nil
		case '\n':
			return d.decode(), nil
		}
		if len(d.line) >= d.MaxLine {
			return "", ErrTooLong
		}
		d.line = append(d.line, c)
	}
}

// decode turns the line's bytes into text: it drops a byte order mark at
// the start of the stream and replaces invalid UTF-8.
func (d *Decoder) decode() string {
	b := d.line
	if !d.started {
		d.started = true
		b = trimBOM(b)
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return decodeUTF8(b)
}

// trimBOM removes a leading UTF-8 byte order mark.
func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return b[3:]
	}
	return b
}

// decodeUTF8 decodes b as the Encoding Standard's UTF-8 decoder does:
// each maximal subpart of an invalid sequence becomes one U+FFFD.
func decodeUTF8(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			sb.WriteByte(c)
			i++
			continue
		}
		need, lo, hi := 0, byte(0x80), byte(0xBF)
		switch {
		case c >= 0xC2 && c <= 0xDF:
			need = 1
		case c >= 0xE0 && c <= 0xEF:
			need = 2
			if c == 0xE0 {
				lo = 0xA0
			} else if c == 0xED {
				hi = 0x9F
			}
		case c >= 0xF0 && c <= 0xF4:
			need = 3
			if c == 0xF0 {
				lo = 0x90
			} else if c == 0xF4 {
				hi = 0x8F
			}
		default:
			sb.WriteRune(utf8.RuneError)
			i++
			continue
		}
		j := i + 1
		for k := 0; k < need; k++ {
			if j >= len(b) || b[j] < lo || b[j] > hi {
				break
			}
			lo, hi = 0x80, 0xBF
			j++
		}
		if j-i == need+1 {
			sb.Write(b[i:j])
		} else {
			sb.WriteRune(utf8.RuneError)
		}
		i = j
	}
	return sb.String()
}
