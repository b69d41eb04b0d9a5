package rawnet

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Response is an HTTP/1.1 response: what a Handler returns and what
// ParseResponse reads.
type Response struct {
	Status int
	// Header holds the fields to send besides Content-Length, Date and
	// Connection, which AppendResponse writes itself. A parsed response
	// holds every field received.
	Header []Field
	Body   []byte
}

// Get returns the value of the first field called name (case-insensitive)
// and whether there was one.
func (r *Response) Get(name string) (string, bool) {
	return lookup(r.Header, name)
}

// Text returns a 200-style response with a plain-text body.
func Text(status int, body string) Response {
	return Response{Status: status, Body: []byte(body),
		Header: []Field{{"Content-Type", "text/plain; charset=utf-8"}}}
}

// bodyless reports whether a response with this status never has content
// nor Content-Length (RFC 9110 sections 8.6, 15.2, 15.3.5, 15.4.5).
func bodyless(status int) bool {
	return status < 200 || status == 204 || status == 304
}

// AppendResponse appends r to dst as it goes on the wire. date is the
// formatted Date field (see Clock); head leaves the body out, as a
// response to HEAD does; closing adds "Connection: close".
func AppendResponse(dst []byte, r *Response, date []byte, head, closing bool) []byte {
	text := http.StatusText(r.Status)
	if text == "" {
		text = "Status"
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(r.Status), 10)
	dst = append(dst, ' ')
	dst = append(dst, text...)
	dst = append(dst, "\r\n"...)
	for _, f := range r.Header {
		dst = append(dst, f.Name...)
		dst = append(dst, ": "...)
		dst = append(dst, f.Value...)
		dst = append(dst, "\r\n"...)
	}
	if !bodyless(r.Status) {
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(r.Body)), 10)
		dst = append(dst, "\r\n"...)
	}
	if len(date) > 0 {
		dst = append(dst, "Date: "...)
		dst = append(dst, date...)
		dst = append(dst, "\r\n"...)
	}
	if closing {
		dst = append(dst, "Connection: close\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	if !head && !bodyless(r.Status) {
		dst = append(dst, r.Body...)
	}
	return dst
}

// Clock formats the Date field once per second. An origin server with a
// clock sends Date in its responses (RFC 9110 section 6.6.1). A Clock is
// used by one goroutine.
type Clock struct {
	sec  int64
	date []byte
}

// Date returns now in IMF-fixdate form, e.g. "Sun, 06 Nov 1994 08:49:37
// GMT". The slice is reused on the next call in another second.
func (c *Clock) Date(now time.Time) []byte {
	if s := now.Unix(); s != c.sec || c.date == nil {
		c.sec = s
		c.date = now.UTC().AppendFormat(c.date[:0], http.TimeFormat)
	}
	return c.date
}

// ParseResponse parses the first response in b, framed by Content-Length
// (or bodyless by its status; head says it answers a HEAD). It returns the
// response and the bytes it used, ErrIncomplete, or a *ParseError for a
// response this client does not read (chunked or close-delimited).
func ParseResponse(b []byte, head bool) (*Response, int, error) {
	end, err := headerSection(b, 0)
	if err != nil {
		return nil, 0, err
	}
	s := string(b[:end])
	line, rest, _ := strings.Cut(s, "\r\n")
	r := &Response{}
	if r.Status, err = parseStatusLine(line); err != nil {
		return nil, 0, err
	}
	if r.Header, err = parseFields(rest); err != nil {
		return nil, 0, err
	}
	n := 0
	if !head && !bodyless(r.Status) {
		if _, ok := r.Get("Transfer-Encoding"); ok {
			return nil, 0, refuse(501, "transfer-coded response")
		}
		v, ok := r.Get("Content-Length")
		if !ok {
			return nil, 0, refuse(501, "response without Content-Length")
		}
		if n, err = contentLength(v); err != nil {
			return nil, 0, err
		}
	}
	total := end + 4 + n
	if len(b) < total {
		return nil, 0, ErrIncomplete
	}
	r.Body = bytes.Clone(b[end+4 : total])
	return r, total, nil
}

// parseStatusLine parses "HTTP/1.1 200 OK" (RFC 9112 section 4).
func parseStatusLine(line string) (int, error) {
	version, rest, ok := strings.Cut(line, " ")
	if !ok {
		return 0, refuse(400, "malformed status line")
	}
	if _, err := parseVersion(version); err != nil {
		return 0, err
	}
	code, _, _ := strings.Cut(rest, " ")
	if len(code) != 3 || !isDigit(code[0]) || !isDigit(code[1]) ||
		!isDigit(code[2]) || code[0] < '1' || code[0] > '5' {
		return 0, refuse(400, "malformed status code")
	}
	n, _ := strconv.Atoi(code)
	return n, nil
}
