package kv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// ErrClosed is returned by Do once the client's connection has ended.
var ErrClosed = errors.New("kv: client closed")

// MaxInflight bounds the requests a Client has outstanding at once.
const MaxInflight = 1024

// Client sends requests on one connection without waiting for earlier
// replies (pipelining) and matches each reply to its request by id, so
// replies may arrive in any order.
type Client struct {
	codec  Codec
	closer io.Closer

	mu      sync.Mutex
	nextID  uint32
	pending map[uint32]chan Message
	err     error // why the connection ended; set once
	done    chan struct{}
	slots   chan struct{}
}

// NewClient starts a client on codec; closer (normally the net.Conn under
// the codec) is closed by Close or when the server breaks the protocol.
func NewClient(codec Codec, closer io.Closer) *Client {
	c := &Client{codec: codec, closer: closer,
		pending: make(map[uint32]chan Message), done: make(chan struct{}),
		slots: make(chan struct{}, MaxInflight)}
	go c.readLoop()
	return c
}

// Do sends req with a fresh id and returns the reply that carries the same
// id: Send then Wait. req.Version must be set. Any reply is returned as it
// came, error statuses included; err is for a broken connection, a
// cancelled ctx or a reply that does not answer req.
func (c *Client) Do(ctx context.Context, req Message) (Message, error) {
	call, err := c.Send(ctx, req)
	if err != nil {
		return Message{}, err
	}
	return call.Wait(ctx)
}

// Call is a request on the wire, waiting for its reply.
type Call struct {
	Req Message // as sent, with its id
	c   *Client
	ch  chan Message
}

// Send writes req with a fresh id and returns at once, without waiting
// for the reply: send several, then Wait on each, and the server works on
// them together. At most MaxInflight calls are outstanding; Send blocks
// while that many are.
func (c *Client) Send(ctx context.Context, req Message) (*Call, error) {
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.done:
		return nil, c.closeErr()
	}
	call := &Call{c: c, ch: make(chan Message, 1)}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		<-c.slots
		return nil, c.closeErr()
	}
	c.nextID++
	req.ID = c.nextID
	call.Req = req
	c.pending[req.ID] = call.ch
	c.mu.Unlock()
	if err := c.codec.WriteMessage(&req); err != nil {
		c.forget(req.ID)
		return nil, err
	}
	return call, nil
}

// Wait returns the reply to the call's request.
func (call *Call) Wait(ctx context.Context) (Message, error) {
	c, req := call.c, call.Req
	select {
	case rep := <-call.ch:
		if rep.Type.Request() != req.Type.Request() || !rep.Type.IsReply() {
			return rep, fmt.Errorf("kv: got %v for %v id=%d", rep.Type, req.Type, req.ID)
		}
		return rep, nil
	case <-ctx.Done():
		c.forget(req.ID) // a late reply is dropped by readLoop
		return Message{}, ctx.Err()
	case <-c.done:
		return Message{}, c.closeErr()
	}
}

// forget removes a pending id and frees its slot, once.
func (c *Client) forget(id uint32) (chan Message, bool) {
	c.mu.Lock()
	ch, ok := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	if ok {
		<-c.slots
	}
	return ch, ok
}

// readLoop delivers each reply to the request waiting on its id.
func (c *Client) readLoop() {
	for {
		rep, err := c.codec.ReadMessage()
		if err != nil {
			c.fail(err)
			return
		}
		ch, ok := c.forget(rep.ID)
		c.mu.Lock()
		known := ok || rep.ID <= c.nextID // late replies to abandoned requests
		c.mu.Unlock()
		if !known {
			c.fail(fmt.Errorf("kv: reply to id %d, which was never sent", rep.ID))
			return
		}
		if ok {
			ch <- rep
		}
	}
}

func (c *Client) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
		close(c.done)
	}
	c.mu.Unlock()
	c.closer.Close()
}

func (c *Client) closeErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if errors.Is(c.err, ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("%w: %w", ErrClosed, c.err)
}

// Close closes the connection and fails the requests still waiting.
func (c *Client) Close() error {
	c.fail(ErrClosed)
	return nil
}
