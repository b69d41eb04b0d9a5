package h1

import (
	"io"
	"strings"
)

// Response is an HTTP/1.x response read by a client.
type Response struct {
	Major, Minor int
	Status       int
	Reason       string
	Header       Header
	// ContentLength is the body's length, or -1 when it is chunked or
	// runs until the connection closes.
	ContentLength int64
	Chunked       bool
	// Body reads the body; it is never nil and returns io.EOF at once
	// when the response has none (HEAD, 1xx, 204, 304).
	Body io.Reader
	// Trailer holds a chunked body's trailer fields once Body returned
	// io.EOF.
	Trailer Header
	// Close reports that the server closes the connection after this
	// response, so no other request can follow on it.
	Close bool

	body  body
	small [16]Field
}

var errStatusLine = badRequest("status line exceeds the limit")

// ReadResponse reads one response head, for a request with the given
// method (a response to HEAD has no body whatever its fields say).
// Interim 1xx responses are returned like any other; see
// ClientConn.ReadResponse, which skips them.
func (r *Reader) ReadResponse(method string) (*Response, error) {
	r.buf = r.buf[:0]
	n, err := r.readLine(r.lim.MaxLine, errStatusLine)
	if err != nil {
		return nil, err
	}
	if err := r.readFields(n + 2); err != nil {
		return nil, err
	}
	s := string(r.buf)
	resp := &Response{}
	if err := resp.parseLine(s[:n]); err != nil {
		return nil, err
	}
	resp.Header = r.fields(resp.small[:0], s)
	if err := resp.frame(r, method); err != nil {
		return nil, err
	}
	return resp, nil
}

// parseLine parses "HTTP-version SP status-code SP [reason-phrase]" (RFC
// 9112 section 4). A missing space after the code is tolerated.
func (r *Response) parseLine(line string) error {
	version, rest, ok := strings.Cut(line, " ")
	if !ok {
		return badRequest("malformed status line")
	}
	var err error
	if r.Major, r.Minor, err = parseVersion(version); err != nil {
		return err
	}
	if r.Major != 1 {
		return badRequest("not an HTTP/1.x response")
	}
	code, reason, _ := strings.Cut(rest, " ")
	if len(code) != 3 || !isDigit(code[0]) || !isDigit(code[1]) ||
		!isDigit(code[2]) || code[0] == '0' {
		return badRequest("malformed status code")
	}
	r.Status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	for i := 0; i < len(reason); i++ {
		if class[reason[i]]&isValue == 0 {
			return badRequest("invalid byte in reason phrase")
		}
	}
	r.Reason = reason
	return nil
}

// frame decides where the body ends (RFC 9112 section 6.3).
func (r *Response) frame(rd *Reader, method string) error {
	cl := int64(-1)
	var te []string
	for i := range r.Header {
		f := &r.Header[i]
		switch {
		case strings.EqualFold(f.Name, "Content-Length"):
			n, err := parseLength(f.Value, rd.lim.MaxBody)
			if err != nil {
				return err
			}
			if cl >= 0 && n != cl {
				return badRequest("differing Content-Length values")
			}
			cl = n
		case strings.EqualFold(f.Name, "Transfer-Encoding"):
			te = append(te, f.Value)
		case strings.EqualFold(f.Name, "Connection"):
			r.Close = r.Close || listHas(f.Value, "close")
		}
	}
	if r.Minor == 0 && !r.Header.HasToken("Connection", "keep-alive") {
		r.Close = true
	}
	r.body = body{r: rd, max: rd.lim.MaxBody, trailer: &r.Trailer}
	r.Body = &r.body
	switch {
	case method == "HEAD" || r.Status < 200 || r.Status == 204 ||
		r.Status == 304:
		r.ContentLength = 0
		if cl > 0 && method == "HEAD" {
			r.ContentLength = cl // what a GET would have carried
		}
	case te != nil && cl >= 0:
		// Section 6.3 says Transfer-Encoding wins but the message
		// "ought to be handled as an error": it is.
		return badRequest("both Content-Length and Transfer-Encoding")
	case te != nil:
		if err := checkCodings(te); err != nil {
			return err
		}
		r.Chunked, r.ContentLength = true, -1
		r.body.kind = bodyChunked
	case cl >= 0:
		r.ContentLength = cl
		if cl > 0 {
			r.body.kind, r.body.remain = bodyFixed, cl
		}
	default:
		r.ContentLength = -1
		r.Close = true
		r.body.kind = bodyClose
	}
	return nil
}
