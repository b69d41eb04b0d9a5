package resp

import (
	"bufio"
	"context"
	"net"
	"time"
)

// Conn is a client connection to a RESP server: a Redis server or the
// demo's broker. It is not safe for concurrent use.
type Conn struct {
	c   net.Conn
	r   *Reader
	w   *bufio.Writer
	buf []byte
}

// Dial connects to a RESP server at addr.
func Dial(ctx context.Context, addr string) (*Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return NewConn(c), nil
}

// NewConn wraps an established connection.
func NewConn(c net.Conn) *Conn {
	return &Conn{c: c, r: NewReader(c), w: bufio.NewWriterSize(c, 32<<10)}
}

// Send buffers a command without waiting for its reply; Flush sends what
// is buffered. Together they pipeline.
func (c *Conn) Send(args ...string) error {
	c.buf = AppendCommand(c.buf[:0], args...)
	_, err := c.w.Write(c.buf)
	return err
}

// Flush writes every buffered command.
func (c *Conn) Flush() error { return c.w.Flush() }

// Receive reads the next value from the server: a reply, or in subscribed
// mode a pushed message.
func (c *Conn) Receive() (Value, error) { return c.r.ReadValue() }

// Do sends one command and returns its reply. An error reply is returned
// both as the Value and as a *ServerError.
func (c *Conn) Do(args ...string) (Value, error) {
	if err := c.Send(args...); err != nil {
		return Value{}, err
	}
	if err := c.Flush(); err != nil {
		return Value{}, err
	}
	v, err := c.Receive()
	if err != nil {
		return v, err
	}
	return v, v.Err()
}

// SetDeadline sets the read and write deadline of the connection.
func (c *Conn) SetDeadline(t time.Time) error { return c.c.SetDeadline(t) }

// LocalAddr returns the client's address, as the server sees it.
func (c *Conn) LocalAddr() net.Addr { return c.c.LocalAddr() }

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }
