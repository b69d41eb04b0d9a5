package rawnet

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Limits on what a request may hold. They bound the memory one client can
// make a server spend.
const (
	// MaxHeaderBytes bounds the request line and header section, CRLFs
	// included.
	MaxHeaderBytes = 8 << 10
	// MaxHeaders bounds the number of header fields.
	MaxHeaders = 64
	// MaxBodyBytes bounds a Content-Length body.
	MaxBodyBytes = 1 << 20
)

// ErrIncomplete means the bytes so far are a valid beginning of a message
// and more are needed.
var ErrIncomplete = errors.New("rawnet: incomplete message")

// ParseError is a message the parser refuses, with the status a server
// answers it with (400, 413, 431, 501, 505).
type ParseError struct {
	Status int
	Reason string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("rawnet: %d %s", e.Status, e.Reason)
}

func refuse(status int, format string, args ...any) *ParseError {
	return &ParseError{Status: status, Reason: fmt.Sprintf(format, args...)}
}

// Field is one header field line.
type Field struct {
	Name, Value string
}

// Request is one parsed HTTP/1.x request. Its strings and body are copies:
// a Request may be handed to another goroutine.
type Request struct {
	Method string
	Target string // request-target as sent, e.g. "/prime?n=97"
	Minor  int    // 1 for HTTP/1.1, 0 for HTTP/1.0
	Header []Field
	Body   []byte
	// Close is true when the client asked to close after the response:
	// "Connection: close", or HTTP/1.0 without "Connection: keep-alive".
	Close bool
}

// Get returns the value of the first field called name (case-insensitive)
// and whether there was one.
func (r *Request) Get(name string) (string, bool) {
	return lookup(r.Header, name)
}

// Path returns the request-target without its query.
func (r *Request) Path() string {
	p, _, _ := strings.Cut(r.Target, "?")
	return p
}

// Query returns the decoded query parameter key, or "" if absent or
// malformed.
func (r *Request) Query(key string) string {
	_, q, ok := strings.Cut(r.Target, "?")
	if !ok {
		return ""
	}
	v, err := url.ParseQuery(q)
	if err != nil {
		return ""
	}
	return v.Get(key)
}

func lookup(fs []Field, name string) (string, bool) {
	for _, f := range fs {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

var crlf2 = []byte("\r\n\r\n")

// ParseRequest parses the first request in b. It returns the request and
// the number of bytes it used, ErrIncomplete if b holds only the start of
// one, or a *ParseError. Leading empty lines are skipped (RFC 9112 section
// 2.2). With ErrIncomplete, n is the length the whole request will have
// once its head has arrived (so a caller need not parse again before it
// has that many bytes), and 0 before.
func ParseRequest(b []byte) (*Request, int, error) {
	skip := 0
	for bytes.HasPrefix(b[skip:], []byte("\r\n")) && skip < MaxHeaderBytes {
		skip += 2
	}
	head, err := headerSection(b, skip)
	if err != nil {
		return nil, 0, err
	}
	// One string holds the whole head; every field is a substring of it.
	s := string(b[skip:head])
	line, rest, _ := strings.Cut(s, "\r\n")
	r := &Request{}
	if err := r.parseLine(line); err != nil {
		return nil, 0, err
	}
	if r.Header, err = parseFields(rest); err != nil {
		return nil, 0, err
	}
	n, err := r.frame()
	if err != nil {
		return nil, 0, err
	}
	end := head + 4 + n
	if len(b) < end {
		return nil, end, ErrIncomplete
	}
	if n > 0 {
		r.Body = bytes.Clone(b[head+4 : end])
	}
	return r, end, nil
}

// headerSection returns the offset of the CRLFCRLF that ends the header
// section that starts at from, ErrIncomplete, or 431 when it is longer
// than MaxHeaderBytes.
func headerSection(b []byte, from int) (int, error) {
	window := b[from:]
	if len(window) > MaxHeaderBytes {
		window = window[:MaxHeaderBytes]
	}
	if i := bytes.Index(window, crlf2); i >= 0 {
		return from + i, nil
	}
	if len(window) == MaxHeaderBytes || from >= MaxHeaderBytes {
		return 0, refuse(431, "header section over %d bytes", MaxHeaderBytes)
	}
	return 0, ErrIncomplete
}

// parseLine parses the request-line (RFC 9112 section 3).
func (r *Request) parseLine(line string) error {
	method, rest, ok1 := strings.Cut(line, " ")
	target, version, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 {
		return refuse(400, "malformed request line")
	}
	if !isToken(method) {
		return refuse(400, "malformed method")
	}
	if target == "" || !isVisible(target) {
		return refuse(400, "malformed request-target")
	}
	minor, err := parseVersion(version)
	if err != nil {
		return err
	}
	r.Method, r.Target, r.Minor = method, target, minor
	return nil
}

// parseVersion accepts HTTP/1.0 and HTTP/1.1 and answers 505 to any other
// well-formed version (RFC 9112 section 2.3).
func parseVersion(v string) (int, error) {
	if len(v) != 8 || !strings.HasPrefix(v, "HTTP/") || v[6] != '.' ||
		!isDigit(v[5]) || !isDigit(v[7]) {
		return 0, refuse(400, "malformed HTTP version")
	}
	if v[5] != '1' || v[7] > '1' {
		return 0, refuse(505, "HTTP version %s not supported", v[5:])
	}
	return int(v[7] - '0'), nil
}

// parseFields parses the field lines of a header section (RFC 9112
// section 5), given without the final empty line.
func parseFields(s string) ([]Field, error) {
	if s == "" {
		return nil, nil
	}
	n := strings.Count(s, "\r\n") + 1
	if n > MaxHeaders {
		return nil, refuse(431, "more than %d header fields", MaxHeaders)
	}
	fs := make([]Field, 0, n)
	for line := range strings.SplitSeq(s, "\r\n") {
		if line != "" && (line[0] == ' ' || line[0] == '\t') {
			return nil, refuse(400, "obsolete line folding")
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !isToken(name) {
			// Also catches whitespace before the colon (section 5.1).
			return nil, refuse(400, "malformed field line")
		}
		value = strings.Trim(value, " \t")
		if !isFieldValue(value) {
			return nil, refuse(400, "control character in field %s", name)
		}
		fs = append(fs, Field{name, value})
	}
	return fs, nil
}

// frame checks Host, the connection options and the body's framing, and
// returns the body length (RFC 9112 sections 3.2, 6, 9.3).
func (r *Request) frame() (int, error) {
	hosts := 0
	cl := -1
	r.Close = r.Minor == 0
	for _, f := range r.Header {
		switch {
		case strings.EqualFold(f.Name, "Host"):
			hosts++
		case strings.EqualFold(f.Name, "Transfer-Encoding"):
			return 0, refuse(501, "Transfer-Encoding not implemented")
		case strings.EqualFold(f.Name, "Content-Length"):
			n, err := contentLength(f.Value)
			if err != nil {
				return 0, err
			}
			if cl >= 0 && n != cl {
				return 0, refuse(400, "conflicting Content-Length")
			}
			cl = n
		case strings.EqualFold(f.Name, "Connection"):
			for opt := range strings.SplitSeq(f.Value, ",") {
				opt = strings.TrimSpace(opt)
				if strings.EqualFold(opt, "close") {
					r.Close = true
				} else if strings.EqualFold(opt, "keep-alive") && r.Minor == 0 {
					r.Close = false
				}
			}
		}
	}
	if r.Minor == 1 && hosts != 1 {
		return 0, refuse(400, "HTTP/1.1 needs exactly one Host, got %d", hosts)
	}
	return max(cl, 0), nil
}

// contentLength parses a Content-Length value: digits only, no list.
func contentLength(v string) (int, error) {
	if v == "" || len(v) > 10 {
		return 0, refuse(400, "malformed Content-Length")
	}
	n := 0
	for i := 0; i < len(v); i++ {
		if !isDigit(v[i]) {
			return 0, refuse(400, "malformed Content-Length")
		}
		n = n*10 + int(v[i]-'0')
	}
	if n > MaxBodyBytes {
		return 0, refuse(413, "body of %d bytes over %d", n, MaxBodyBytes)
	}
	return n, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isToken reports whether s is a token: one or more tchar (RFC 9110
// section 5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'z' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// isVisible reports whether s is all visible ASCII, as a request-target is.
func isVisible(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// isFieldValue reports whether s has no control characters other than
// HTAB (RFC 9110 section 5.5); obs-text (0x80-0xff) is allowed.
func isFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
