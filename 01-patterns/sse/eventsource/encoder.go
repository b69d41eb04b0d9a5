package eventsource

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// ErrBadField reports an id or event type that cannot be written: one that
// contains a line break (or, for an id, NULL, which the client would
// ignore).
var ErrBadField = errors.New("eventsource: id or type contains a line break or NULL")

// Encoder writes events to a stream. It does not flush; an HTTP handler
// flushes after each event it wants delivered now.
type Encoder struct {
	w   io.Writer
	buf []byte
}

// NewEncoder returns an encoder writing to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// Event writes one event: an "event:" line if typ is neither empty nor
// "message", an "id:" line if id is not empty, one "data:" line per line of
// data (split at CRLF, LF or CR, which the client turns back into "\n"),
// and the blank line that dispatches it.
func (e *Encoder) Event(id, typ, data string) error {
	if strings.ContainsAny(id, "\r\n\x00") || strings.ContainsAny(typ, "\r\n") {
		return ErrBadField
	}
	b := e.buf[:0]
	if typ != "" && typ != "message" {
		b = append(b, "event: "...)
		b = append(b, typ...)
		b = append(b, '\n')
	}
	if id != "" {
		b = append(b, "id: "...)
		b = append(b, id...)
		b = append(b, '\n')
	}
	for {
		i := strings.IndexAny(data, "\r\n")
		if i < 0 {
			break
		}
		b = appendData(b, data[:i])
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	b = appendData(b, data)
	b = append(b, '\n')
	e.buf = b
	_, err := e.w.Write(b)
	return err
}

func appendData(b []byte, line string) []byte {
	b = append(b, "data: "...)
	b = append(b, line...)
	return append(b, '\n')
}

// Retry writes a retry field asking the client to wait d before it
// reconnects. It dispatches nothing by itself.
func (e *Encoder) Retry(d time.Duration) error {
	_, err := io.WriteString(e.w, "retry: "+strconv.FormatInt(d.Milliseconds(), 10)+"\n")
	return err
}

// Comment writes a comment line followed by a blank line, which keeps an
// idle connection alive through proxies and dispatches nothing. Line
// breaks in text become separate comment lines.
func (e *Encoder) Comment(text string) error {
	var sb strings.Builder
	for _, l := range strings.FieldsFunc(text, func(r rune) bool { return r == '\r' || r == '\n' }) {
		sb.WriteString(": " + l + "\n")
	}
	if sb.Len() == 0 {
		sb.WriteString(":\n")
	}
	sb.WriteString("\n")
	_, err := io.WriteString(e.w, sb.String())
	return err
}
