package main

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"backend-protocols/02-protocols/websockets/ws"
)

// received is one message a client got, and when.
type received struct {
	At   time.Time
	Text string
}

// chatClient is a Go chat client that records every message pushed to it.
type chatClient struct {
	Name string // "User<port>", as the server calls it
	conn *ws.Conn

	mu     sync.Mutex
	got    []received
	signal chan struct{} // pinged on every message
	done   chan error    // the reader's final error
}

// dialChat connects to the chat at url. A client that will not read can
// ask for a small receive buffer (rcvbuf bytes), so its socket fills fast.
func dialChat(ctx context.Context, url string, rcvbuf int, read bool) (*chatClient, error) {
	opts := &ws.DialOptions{}
	if rcvbuf > 0 {
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET,
					syscall.SO_RCVBUF, rcvbuf)
			})
			return errors.Join(err, serr)
		}}
		opts.NetDial = d.DialContext
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, _, err := ws.Dial(dctx, url, opts)
	if err != nil {
		return nil, err
	}
	c := &chatClient{Name: name(conn.LocalAddr()), conn: conn,
		signal: make(chan struct{}, 1), done: make(chan error, 1)}
	if read {
		go c.read()
	}
	return c, nil
}

func (c *chatClient) read() {
	for {
		_, msg, err := c.conn.ReadMessage()
		if err != nil {
			c.done <- err
			return
		}
		c.mu.Lock()
		c.got = append(c.got, received{time.Now(), string(msg)})
		c.mu.Unlock()
		select {
		case c.signal <- struct{}{}:
		default:
		}
	}
}

// say sends a chat message and returns when it left.
func (c *chatClient) say(text string) (time.Time, error) {
	t := time.Now()
	return t, c.conn.WriteMessage(ws.OpText, []byte(text))
}

// messages returns a copy of what the client received so far.
func (c *chatClient) messages() []received {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]received(nil), c.got...)
}

// waitFor waits until a received message equals text and returns it.
func (c *chatClient) waitFor(ctx context.Context, text string) (received, error) {
	for {
		for _, r := range c.messages() {
			if r.Text == text {
				return r, nil
			}
		}
		select {
		case <-c.signal:
		case <-ctx.Done():
			return received{}, errors.New(c.Name + " never got " + strings.TrimSpace(text))
		}
	}
}

// count returns how many received messages have the prefix.
func (c *chatClient) count(prefix string) int {
	n := 0
	for _, r := range c.messages() {
		if strings.HasPrefix(r.Text, prefix) {
			n++
		}
	}
	return n
}

// close ends the client politely and waits for its reader.
func (c *chatClient) close() {
	c.conn.Close(ws.CloseNormal, "bye")
	c.conn.NetConn().Close()
}
