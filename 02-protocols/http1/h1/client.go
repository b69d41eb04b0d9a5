package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// ClientConn is the client side of one HTTP/1.1 connection. Do sends a
// request and reads its response; WriteRequest and ReadResponse split the
// two so several requests can be pipelined before the first response is
// read. A ClientConn is not safe for concurrent use.
type ClientConn struct {
	// ExpectTimeout is how long Do waits for "100 Continue" after a head
	// with "Expect: 100-continue" before sending the body anyway.
	ExpectTimeout time.Duration

	nc      net.Conn
	r       *Reader
	bw      *bufio.Writer
	pending []string  // methods of requests written, not yet answered
	last    *Response // its body must be read before the next response
	err     error     // sticky: the connection cannot be used
	scratch [512]byte
}

// Dial connects to addr ("host:port") over TCP.
func Dial(ctx context.Context, addr string) (*ClientConn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return NewClientConn(nc, Limits{}), nil
}

// NewClientConn makes a ClientConn on an open connection.
func NewClientConn(nc net.Conn, lim Limits) *ClientConn {
	return &ClientConn{nc: nc, r: NewReader(nc, lim),
		bw: bufio.NewWriterSize(nc, bufSize), ExpectTimeout: time.Second}
}

// NetConn returns the underlying connection.
func (c *ClientConn) NetConn() net.Conn { return c.nc }

// Close closes the connection.
func (c *ClientConn) Close() error { return c.nc.Close() }

// NewRequest returns a request for target ("/path?query") on host with
// an optional body. The length of a *bytes.Reader, *bytes.Buffer or
// *strings.Reader body is known and sent as Content-Length; any other
// body is sent chunked.
func NewRequest(method, host, target string, body io.Reader) *Request {
	r := &Request{Method: method, Host: host, Target: target, Major: 1,
		Minor: 1, Body: body}
	switch b := body.(type) {
	case nil:
	case *bytes.Reader:
		r.ContentLength = int64(b.Len())
	case *bytes.Buffer:
		r.ContentLength = int64(b.Len())
	case *strings.Reader:
		r.ContentLength = int64(b.Len())
	default:
		r.ContentLength = -1
	}
	return r
}

// Do sends req and returns its response. The caller reads the response's
// Body before the next Do on this connection (or the next Do drains it).
func (c *ClientConn) Do(req *Request) (*Response, error) {
	if !req.Header.HasToken("Expect", "100-continue") || req.Body == nil {
		if err := c.WriteRequest(req); err != nil {
			return nil, err
		}
		return c.ReadResponse()
	}
	// Send the head alone, wait for 100 (or a final answer, or the
	// timeout), and only then the body (RFC 9110 section 10.1.1).
	if err := c.writeHead(req); err != nil {
		return nil, err
	}
	if err := c.bw.Flush(); err != nil {
		return nil, c.fail(err)
	}
	c.pending = append(c.pending, req.Method)
	c.nc.SetReadDeadline(time.Now().Add(c.ExpectTimeout))
	_, err := c.r.br.Peek(1)
	c.nc.SetReadDeadline(time.Time{})
	var ne net.Error
	switch {
	case err == nil:
		resp, err := c.readOne()
		if err != nil {
			return nil, err
		}
		if resp.Status >= 200 {
			// A final answer without our body: the server will not
			// find where the next request starts; do not reuse.
			c.pop()
			c.err = errors.New("h1: server answered before the body")
			resp.Close = true
			c.last = resp
			return resp, nil
		}
	case errors.As(err, &ne) && ne.Timeout():
	default:
		return nil, c.fail(err)
	}
	if err := c.writeBody(req); err != nil {
		return nil, err
	}
	return c.ReadResponse()
}

// WriteRequest sends req without waiting for the response. It refuses a
// request whose fields would not survive the trip intact (a CR or LF in a
// value, a space in the target), which is how request splitting starts.
func (c *ClientConn) WriteRequest(req *Request) error {
	if err := c.writeHead(req); err != nil {
		return err
	}
	if err := c.writeBody(req); err != nil {
		return err
	}
	c.pending = append(c.pending, req.Method)
	return nil
}

func (c *ClientConn) writeHead(req *Request) error {
	if c.err != nil {
		return c.err
	}
	if !validToken(req.Method) || req.Target == "" ||
		strings.ContainsFunc(req.Target, func(r rune) bool {
			return r > 0x7e || r <= ' '
		}) || !validHost(req.Host) {
		return fmt.Errorf("h1: invalid request line or host in %s %q",
			req.Method, req.Target)
	}
	if err := checkFields(req.Header); err != nil {
		return err
	}
	if err := checkFields(req.Trailer); err != nil {
		return err
	}
	bw := c.bw
	bw.WriteString(req.Method)
	bw.WriteByte(' ')
	bw.WriteString(req.Target)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(req.Host)
	bw.WriteString("\r\n")
	for _, f := range req.Header {
		if equalFoldAny(f.Name, "Host", "Content-Length", "Transfer-Encoding") {
			continue
		}
		bw.WriteString(f.Name)
		bw.WriteString(": ")
		bw.WriteString(f.Value)
		bw.WriteString("\r\n")
	}
	switch {
	case req.Body == nil:
		if req.Method == "POST" || req.Method == "PUT" || req.Method == "PATCH" {
			bw.WriteString("Content-Length: 0\r\n")
		}
	case req.ContentLength >= 0:
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.FormatInt(req.ContentLength, 10))
		bw.WriteString("\r\n")
	default:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if req.Close {
		bw.WriteString("Connection: close\r\n")
	}
	_, err := bw.WriteString("\r\n")
	return c.fail(err)
}

func (c *ClientConn) writeBody(req *Request) error {
	switch {
	case req.Body == nil:
	case req.ContentLength >= 0:
		n, err := io.CopyN(c.bw, req.Body, req.ContentLength)
		if err != nil {
			return c.fail(fmt.Errorf("h1: body gave %d of %d bytes: %w",
				n, req.ContentLength, err))
		}
	default:
		for {
			n, err := req.Body.Read(c.scratch[:])
			if werr := writeChunk(c.bw, c.scratch[:n]); werr != nil {
				return c.fail(werr)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return c.fail(err)
			}
		}
		if err := writeLastChunk(c.bw, req.Trailer); err != nil {
			return c.fail(err)
		}
	}
	return c.fail(c.bw.Flush())
}

// fail makes a write error sticky: a half-sent request leaves the
// connection unusable.
func (c *ClientConn) fail(err error) error {
	if err != nil && c.err == nil {
		c.err = err
	}
	return err
}

// ReadResponse reads the response to the oldest request written and not
// yet answered, skipping interim 1xx responses (but not 101, which hands
// the connection over). Any unread body of the previous response is read
// and dropped first.
func (c *ClientConn) ReadResponse() (*Response, error) {
	if len(c.pending) == 0 {
		return nil, errors.New("h1: no request awaiting a response")
	}
	for {
		resp, err := c.readOne()
		if err != nil {
			return nil, err
		}
		if resp.Status >= 200 || resp.Status == 101 {
			c.pop()
			c.last = resp
			return resp, nil
		}
	}
}

// pop drops the oldest pending request, keeping the slice's storage.
func (c *ClientConn) pop() {
	n := copy(c.pending, c.pending[1:])
	c.pending = c.pending[:n]
}

func (c *ClientConn) readOne() (*Response, error) {
	if last := c.last; last != nil {
		c.last = nil
		if _, err := io.Copy(io.Discard, last.Body); err != nil {
			return nil, c.fail(err)
		}
	}
	resp, err := c.r.ReadResponse(c.pending[0])
	if err != nil {
		return nil, c.fail(err)
	}
	return resp, nil
}
