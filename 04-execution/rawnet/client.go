package rawnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"
)

// Client is one keep-alive HTTP/1.1 connection that sends GET requests
// and reads Content-Length framed responses: the load generator's client.
// It is not safe for concurrent use; give each worker its own.
type Client struct {
	conn net.Conn
	host string
	buf  []byte // read buffer; buf[:n] holds bytes not yet parsed
	n    int
	req  []byte
	// expired is set when a context's end has set a past deadline.
	expired atomic.Bool
}

// Dial connects a Client to addr ("host:port").
func Dial(ctx context.Context, addr string) (*Client, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Client{conn: c, host: addr, buf: make([]byte, 16<<10)}, nil
}

// Conn returns the underlying connection.
func (c *Client) Conn() net.Conn { return c.conn }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Get sends "GET target" and reads the response.
func (c *Client) Get(ctx context.Context, target string) (*Response, error) {
	rs, err := c.Pipeline(ctx, target)
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// Pipeline writes a GET for every target in one write, then reads the
// responses, which HTTP/1.1 returns in request order (RFC 9112 section
// 9.3.2).
func (c *Client) Pipeline(ctx context.Context, targets ...string) ([]*Response, error) {
	// The context's end unblocks the connection's reads and writes. It
	// is not copied into a socket deadline, which could fire a moment
	// before the context reports itself done.
	if c.expired.Swap(false) {
		c.conn.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() {
		c.expired.Store(true)
		c.conn.SetDeadline(time.Unix(1, 0))
	})
	defer stop()
	c.req = c.req[:0]
	for _, t := range targets {
		c.req = fmt.Appendf(c.req, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n",
			t, c.host)
	}
	if _, err := c.conn.Write(c.req); err != nil {
		return nil, c.ctxErr(ctx, err)
	}
	out := make([]*Response, 0, len(targets))
	for range targets {
		r, err := c.read()
		if err != nil {
			return out, c.ctxErr(ctx, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// ReadResponse reads one response, for callers that wrote the request
// themselves through Conn.
func (c *Client) ReadResponse() (*Response, error) { return c.read() }

func (c *Client) read() (*Response, error) {
	for {
		r, used, err := ParseResponse(c.buf[:c.n], false)
		if err == nil {
			c.n = copy(c.buf, c.buf[used:c.n])
			return r, nil
		}
		if !errors.Is(err, ErrIncomplete) {
			return nil, err
		}
		if c.n == len(c.buf) {
			if len(c.buf) >= MaxHeaderBytes+MaxBodyBytes {
				return nil, errors.New("rawnet: response too large")
			}
			c.buf = append(c.buf, make([]byte, len(c.buf))...)
		}
		m, err := c.conn.Read(c.buf[c.n:])
		c.n += m
		if err != nil && m == 0 {
			return nil, err
		}
	}
}

func (c *Client) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
