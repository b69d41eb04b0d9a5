package h1

import (
	"context"
	"io"
	"strings"
)

// Request is an HTTP/1.x request: one the server read, or one a client
// sends with ClientConn.
type Request struct {
	Method string
	// Target is the request-target exactly as on the wire: "/path?query"
	// (origin-form), "http://host/path" (absolute-form), "host:port"
	// (authority-form, CONNECT) or "*" (asterisk-form, OPTIONS).
	Target string
	// Major and Minor are the HTTP version: 1.1 or 1.0.
	Major, Minor int
	// Host is the Host field, or the authority of an absolute-form
	// target, which overrides it (RFC 9112 section 3.2.2).
	Host   string
	Header Header
	// ContentLength is the body's length, or -1 when it is chunked (or,
	// for a client request, unknown and so sent chunked).
	ContentLength int64
	// Chunked reports a body with the chunked transfer coding.
	Chunked bool
	// Body reads the body; it is never nil on the server, and returns
	// io.EOF at once when there is no body. A client sets it to send one.
	Body io.Reader
	// Trailer holds the trailer fields of a chunked body: on the server
	// once Body returned io.EOF, on a client the fields to send.
	Trailer Header
	// Close reports that the connection closes after this exchange:
	// "Connection: close", or HTTP/1.0 without keep-alive.
	Close bool
	// RemoteAddr is the peer's address, set by the server.
	RemoteAddr string

	ctx       context.Context
	expect100 bool
	body      body
	small     [16]Field // storage for Header: no allocation for 16 fields
}

// Path returns the target's path, without the query.
func (r *Request) Path() string {
	p, _, _ := strings.Cut(r.Target, "?")
	if i := strings.Index(p, "://"); i >= 0 && r.Target[0] != '/' {
		p = p[i+3:]
		if j := strings.IndexByte(p, '/'); j >= 0 {
			return p[j:]
		}
		return "/"
	}
	return p
}

// Query returns the target's raw query, after '?', or "".
func (r *Request) Query() string {
	_, q, _ := strings.Cut(r.Target, "?")
	return q
}

// Context is done when the server begins to shut down, so a long-running
// handler (a stream, a held poll) can end.
func (r *Request) Context() context.Context {
	if r.ctx == nil {
		return context.Background()
	}
	return r.ctx
}

// ExpectsContinue reports whether the client sent "Expect: 100-continue"
// and waits for a 100 before sending its body.
func (r *Request) ExpectsContinue() bool { return r.expect100 }

// ReadRequest reads one request head and sets up its Body, which must be
// read (or dropped) before the next ReadRequest. It returns io.EOF if the
// stream ends before the first byte, and an *Error for anything that is
// not a well-formed, unambiguous HTTP/1.x request.
func (r *Reader) ReadRequest() (*Request, error) {
	r.buf = r.buf[:0]
	var n int
	var err error
	// Section 2.2: a server SHOULD ignore at least one empty line
	// before the request line. A few are allowed, not an endless stream.
	for range 4 {
		if n, err = r.readLine(r.lim.MaxLine, ErrLineTooLong); err != nil || n > 0 {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, badRequest("empty lines instead of a request line")
	}
	if err := r.readFields(n + 2); err != nil {
		return nil, err
	}
	s := string(r.buf)
	req := &Request{}
	if err := req.parseLine(s[:n]); err != nil {
		return nil, err
	}
	req.Header = r.fields(req.small[:0], s)
	if err := req.frame(r); err != nil {
		return nil, err
	}
	return req, nil
}

// parseLine parses "method SP request-target SP HTTP-version" (RFC 9112
// section 3), with exactly one space between the parts.
func (r *Request) parseLine(line string) error {
	method, rest, ok1 := strings.Cut(line, " ")
	target, version, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 {
		return badRequest("malformed request line")
	}
	if !validToken(method) {
		return badRequest("invalid method")
	}
	if target == "" {
		return badRequest("empty request-target")
	}
	for i := 0; i < len(target); i++ {
		if class[target[i]]&isTarget == 0 {
			return badRequest("invalid byte in request-target")
		}
	}
	var err error
	if r.Major, r.Minor, err = parseVersion(version); err != nil {
		return err
	}
	if r.Major != 1 {
		return &Error{505, "HTTP version not supported"}
	}
	if r.Minor > 1 {
		r.Minor = 1 // a later 1.x is answered as 1.1 (RFC 9110 6.2)
	}
	r.Method, r.Target = method, target
	switch {
	case target[0] == '/':
	case target == "*":
		if method != "OPTIONS" {
			return badRequest("asterisk-form target outside OPTIONS")
		}
	case method == "CONNECT":
		if !validHost(target) || !strings.Contains(target, ":") {
			return badRequest("CONNECT needs host:port")
		}
	default:
		scheme, after, ok := strings.Cut(target, "://")
		if !ok || !validToken(scheme) {
			return badRequest("request-target is not origin or absolute form")
		}
		host, _, _ := strings.Cut(after, "/")
		host, _, _ = strings.Cut(host, "?")
		if host == "" || !validHost(host) {
			return badRequest("invalid authority in absolute-form target")
		}
	}
	return nil
}

// parseVersion parses "HTTP/" DIGIT "." DIGIT; the name is case-sensitive.
func parseVersion(v string) (major, minor int, err error) {
	if len(v) != 8 || v[:5] != "HTTP/" || v[6] != '.' ||
		!isDigit(v[5]) || !isDigit(v[7]) {
		return 0, 0, badRequest("malformed HTTP version")
	}
	return int(v[5] - '0'), int(v[7] - '0'), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// frame applies the rules that decide where the body ends (RFC 9112
// section 6), refusing every message two parsers could read differently.
func (r *Request) frame(rd *Reader) error {
	var (
		hosts    int
		cl       = int64(-1)
		te       bool
		teBuf    [4]string
		teValues = teBuf[:0]
	)
	for i := range r.Header {
		f := &r.Header[i]
		switch len(f.Name) {
		case 4:
			if strings.EqualFold(f.Name, "Host") {
				hosts++
				r.Host = f.Value
			}
		case 6:
			if strings.EqualFold(f.Name, "Expect") {
				if !strings.EqualFold(f.Value, "100-continue") {
					return &Error{417, "unknown expectation"}
				}
				r.expect100 = r.Minor == 1
			}
		case 10:
			if strings.EqualFold(f.Name, "Connection") {
				if listHas(f.Value, "close") {
					r.Close = true
				}
			}
		case 14:
			if strings.EqualFold(f.Name, "Content-Length") {
				n, err := parseLength(f.Value, rd.lim.MaxBody)
				if err != nil {
					return err
				}
				if cl >= 0 && n != cl {
					return badRequest("differing Content-Length values")
				}
				cl = n
			}
		case 17:
			if strings.EqualFold(f.Name, "Transfer-Encoding") {
				te = true
				teValues = append(teValues, f.Value)
			}
		}
	}
	if r.Minor == 1 && hosts != 1 {
		// Section 3.2: exactly one Host in an HTTP/1.1 request.
		return badRequest("HTTP/1.1 request needs exactly one Host")
	}
	if hosts > 1 {
		return badRequest("more than one Host")
	}
	if !validHost(r.Host) {
		return badRequest("invalid Host")
	}
	if r.Target[0] != '/' && r.Target != "*" && r.Method != "CONNECT" {
		_, after, _ := strings.Cut(r.Target, "://")
		r.Host, _, _ = strings.Cut(after, "/")
		r.Host, _, _ = strings.Cut(r.Host, "?")
	}
	if r.Minor == 0 {
		r.Close = !r.Header.HasToken("Connection", "keep-alive")
	}
	r.body = body{r: rd, max: rd.lim.MaxBody, trailer: &r.Trailer}
	r.Body = &r.body
	switch {
	case te && r.Minor == 0:
		// Section 6.1: Transfer-Encoding in HTTP/1.0 means faulty framing.
		return badRequest("Transfer-Encoding in an HTTP/1.0 request")
	case te && cl >= 0:
		// Section 6.1 allows processing by Transfer-Encoding and closing;
		// refusing is safer: this is the classic smuggling vector.
		return badRequest("both Content-Length and Transfer-Encoding")
	case te:
		if err := checkCodings(teValues); err != nil {
			return err
		}
		r.Chunked, r.ContentLength = true, -1
		r.body.kind = bodyChunked
	case cl > 0:
		r.ContentLength = cl
		r.body.kind, r.body.remain = bodyFixed, cl
	default:
		// No framing fields: a request has no body (section 6.3, rule 7).
		r.ContentLength = 0
	}
	return nil
}

// parseLength parses a Content-Length value: 1*DIGIT, or a list of the
// same number repeated (RFC 9110 section 8.6). Anything else is a 400; a
// well-formed length over max is a 413.
func parseLength(v string, max int64) (int64, error) {
	n := int64(-1)
	for v != "" {
		var item string
		item, v, _ = strings.Cut(v, ",")
		item = trimOWS(item)
		if item == "" {
			return 0, badRequest("malformed Content-Length")
		}
		var x int64
		for i := 0; i < len(item); i++ {
			if !isDigit(item[i]) {
				return 0, badRequest("malformed Content-Length")
			}
			if x > (1<<62)/10 {
				return 0, ErrBodyTooLarge
			}
			x = x*10 + int64(item[i]-'0')
		}
		if n >= 0 && x != n {
			return 0, badRequest("differing Content-Length values")
		}
		n = x
	}
	if n < 0 {
		return 0, badRequest("empty Content-Length")
	}
	if n > max {
		return 0, ErrBodyTooLarge
	}
	return n, nil
}

// checkCodings accepts exactly one transfer coding, chunked, which must be
// final (RFC 9112 sections 6.1 and 7): a request whose final coding is not
// chunked has no knowable length (400), and other codings are not
// implemented here (501).
func checkCodings(values []string) error {
	var last string
	n := 0
	eachItem(values, func(c string) { last = c; n++ })
	if n == 0 {
		return badRequest("empty Transfer-Encoding")
	}
	if !strings.EqualFold(last, "chunked") {
		return badRequest("chunked is not the final transfer coding")
	}
	var err error
	i := 0
	eachItem(values, func(c string) {
		if i++; i == n || err != nil {
			return
		}
		if strings.EqualFold(c, "chunked") {
			err = badRequest("chunked applied more than once")
		} else {
			err = &Error{501, "transfer coding not implemented"}
		}
	})
	return err
}

// eachItem calls f for every non-empty element of comma-separated lists.
func eachItem(values []string, f func(string)) {
	for _, v := range values {
		for v != "" {
			var item string
			item, v, _ = strings.Cut(v, ",")
			if item = trimOWS(item); item != "" {
				f(item)
			}
		}
	}
}

// validHost checks a Host value or authority: uri-host [":" port], with
// the characters RFC 3986 allows there and no userinfo. Empty is allowed
// (RFC 9110 section 7.2).
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._~%!$&'()*+,;=:[]", c) >= 0:
		default:
			return false
		}
	}
	return true
}
