package ws

import (
	"bufio"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"time"
)

// MessageType is the type of a data message: OpText or OpBinary.
type MessageType = Opcode

// Errors returned by writes.
var (
	// ErrCloseSent is returned by a write after this end sent its close
	// frame: nothing may follow it (section 5.5.1).
	ErrCloseSent = errors.New("ws: close frame already sent")
	// ErrInvalidUTF8 is returned by WriteMessage for OpText with bytes
	// that are not UTF-8; the peer would fail the connection with 1007.
	ErrInvalidUTF8 = errors.New("ws: text message is not valid UTF-8")
)

// Conn is one WebSocket connection, client or server side. One goroutine
// may read (ReadMessage) while others write: every frame goes out whole,
// data messages one at a time, and control frames (pings, pongs, close)
// may slip between the fragments of a message.
type Conn struct {
	nc          net.Conn
	br          *bufio.Reader
	server      bool
	subprotocol string
	opt         Options

	// Reading: one reader at a time.
	rmu     sync.Mutex
	inMsg   bool // a fragmented message has started and not ended
	readErr error
	ctrl    [125]byte

	// Writing: msg is held for a whole data message, wmu for one frame.
	msg      chan struct{}
	wmu      sync.Mutex
	wbuf     []byte
	vec      net.Buffers
	rng      *rand.ChaCha8
	writeErr error

	closeSent bool          // under wmu
	closeRecv chan struct{} // closed when the peer's close frame arrived
	recvOnce  sync.Once
	closeOnce sync.Once
	done      chan struct{} // closed when the TCP connection is closed
}

// NewConn makes a Conn on a connection whose opening handshake is done.
// br holds any bytes read past the handshake (it may be nil); server
// says which side this is, which decides who masks (section 5.1).
// Accept and Dial call it; call it yourself only if you did the
// handshake another way.
func NewConn(nc net.Conn, br *bufio.Reader, server bool, subprotocol string,
	opts *Options) *Conn {
	if br == nil {
		br = bufio.NewReaderSize(nc, 4096)
	}
	c := &Conn{nc: nc, br: br, server: server, subprotocol: subprotocol,
		opt: opts.resolved(), msg: make(chan struct{}, 1),
		closeRecv: make(chan struct{}), done: make(chan struct{}),
		wbuf: make([]byte, 0, 4096)}
	if !server {
		// A client copies every payload to mask it: a larger buffer
		// means fewer writes for a large message.
		c.wbuf = make([]byte, 0, 32<<10)
		// Masking keys must be unpredictable (section 10.3): a ChaCha8
		// stream seeded from the system's entropy.
		var seed [32]byte
		crand.Read(seed[:])
		c.rng = rand.NewChaCha8(seed)
	}
	return c
}

// Subprotocol returns the subprotocol the handshake agreed on, or "".
func (c *Conn) Subprotocol() string { return c.subprotocol }

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// LocalAddr and RemoteAddr return the connection's addresses.
func (c *Conn) LocalAddr() net.Addr  { return c.nc.LocalAddr() }
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// SetReadDeadline sets the deadline for reads, as on a net.Conn.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.nc.SetReadDeadline(t) }

// ReadMessage reads the next data message, reassembling its fragments
// and answering pings and the close handshake on the way. It returns a
// *CloseError when the connection ends: the peer's close frame, or the
// code this end failed the connection with.
func (c *Conn) ReadMessage() (MessageType, []byte, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.readErr != nil {
		return 0, nil, c.readErr
	}
	var (
		typ  Opcode
		msg  []byte
		text utf8State
	)
	for {
		h, err := c.nextFrame()
		if err != nil {
			return 0, nil, err
		}
		if h.Op != OpContinuation {
			typ = h.Op
		}
		if int64(len(msg))+h.Length > c.opt.MaxMessageSize {
			return 0, nil, c.fail(CloseTooBig, fmt.Sprintf(
				"message over %d bytes", c.opt.MaxMessageSize))
		}
		n := len(msg)
		if msg == nil && h.Fin {
			msg = make([]byte, h.Length) // the common case: one frame
		} else {
			msg = slices.Grow(msg, int(h.Length))[:n+int(h.Length)]
		}
		p := msg[n:]
		if _, err := io.ReadFull(c.br, p); err != nil {
			return 0, nil, c.lost(err)
		}
		if h.Masked {
			maskBytes(h.Mask, 0, p)
		}
		if c.opt.Trace != nil {
			c.opt.Trace(false, h, p)
		}
		if typ == OpText && (!text.feed(p) || h.Fin && !text.complete()) {
			return 0, nil, c.fail(CloseInvalidData, "text is not UTF-8")
		}
		if h.Fin {
			return typ, msg, nil
		}
	}
}

// nextFrame reads frame headers until a data frame, handling control
// frames on the way, and checks each against the rules of the protocol.
func (c *Conn) nextFrame() (Header, error) {
	for {
		var h Header
		b, err := c.br.Peek(2)
		if err == nil {
			b, err = c.br.Peek(headerLen(b[0], b[1]))
		}
		if err != nil {
			return h, c.lost(err)
		}
		h, n, err := ParseHeader(b)
		if err != nil {
			return h, c.fail(CloseProtocolError, err.Error())
		}
		c.br.Discard(n)
		if code, why := c.check(h); code != 0 {
			return h, c.fail(code, why)
		}
		if !h.Op.IsControl() {
			c.inMsg = !h.Fin
			return h, nil
		}
		p := c.ctrl[:h.Length]
		if _, err := io.ReadFull(c.br, p); err != nil {
			return h, c.lost(err)
		}
		if h.Masked {
			maskBytes(h.Mask, 0, p)
		}
		if c.opt.Trace != nil {
			c.opt.Trace(false, h, p)
		}
		switch h.Op {
		case OpPing:
			// Section 5.5.2: answer with the same payload, soon.
			if err := c.writeFrame(true, OpPong, p); err != nil &&
				!errors.Is(err, ErrCloseSent) {
				return h, c.lost(err)
			}
			if c.opt.OnPing != nil {
				c.opt.OnPing(p)
			}
		case OpPong:
			if c.opt.OnPong != nil {
				c.opt.OnPong(p)
			}
		case OpClose:
			return h, c.closed(p)
		}
	}
}

// check applies the framing rules a single header can break and returns
// the close code to fail with, or 0.
func (c *Conn) check(h Header) (CloseCode, string) {
	switch {
	case h.RSV != 0:
		return CloseProtocolError, "reserved bits set, no extension agreed"
	case !h.Op.known():
		return CloseProtocolError, "reserved opcode " + h.Op.String()
	case h.Op.IsControl() && !h.Fin:
		return CloseProtocolError, "fragmented control frame"
	case h.Op.IsControl() && h.Length > 125:
		return CloseProtocolError, "control frame over 125 bytes"
	case c.server && !h.Masked:
		return CloseProtocolError, "unmasked frame from a client"
	case !c.server && h.Masked:
		return CloseProtocolError, "masked frame from a server"
	case h.Op == OpContinuation && !c.inMsg:
		return CloseProtocolError, "continuation frame outside a message"
	case (h.Op == OpText || h.Op == OpBinary) && c.inMsg:
		return CloseProtocolError, "new message inside a fragmented one"
	case h.Length > c.opt.MaxFrameSize:
		return CloseTooBig, fmt.Sprintf("frame over %d bytes", c.opt.MaxFrameSize)
	}
	return 0, ""
}

// closed handles the peer's close frame: check it, answer it (section
// 5.5.1), and end the connection. The server closes TCP first; the
// client waits a moment for it to (section 7.1.1).
func (c *Conn) closed(p []byte) error {
	ce, bad := parseClose(p)
	if bad != nil {
		var e *CloseError
		errors.As(bad, &e)
		return c.fail(e.Code, e.Reason)
	}
	c.recvOnce.Do(func() { close(c.closeRecv) })
	// Echo the code (section 5.5.1); a close without one is answered
	// with 1000, since 1005 may not be sent.
	echo := ce.Code
	if echo == CloseNoStatus {
		echo = CloseNormal
	}
	c.sendClose(echo, "")
	c.readErr = ce
	c.shut(!c.server)
	return ce
}

// fail fails the connection (section 7.1.7): send a close frame with the
// code, then close TCP without waiting.
func (c *Conn) fail(code CloseCode, reason string) error {
	err := &CloseError{Code: code, Reason: reason}
	c.readErr = err
	// A peer breaking the rules gets a second, not WriteTimeout, to
	// take its close frame.
	c.wmu.Lock()
	if !c.closeSent && c.writeErr == nil {
		c.closeSent = true
		c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		h := Header{Fin: true, Op: OpClose, Masked: !c.server}
		p := closePayload(code, reason)
		h.Length = int64(len(p))
		if h.Masked {
			binary.LittleEndian.PutUint32(h.Mask[:], uint32(c.rng.Uint64()))
		}
		if c.opt.Trace != nil {
			c.opt.Trace(true, h, p)
		}
		c.writeRaw(h, p)
	}
	c.wmu.Unlock()
	c.shut(false)
	return err
}

// lost records a network error or EOF without a close frame (1006).
func (c *Conn) lost(err error) error {
	if ce, ok := c.readErr.(*CloseError); ok {
		return ce
	}
	select {
	case <-c.closeRecv:
	default:
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
	}
	c.readErr = &CloseError{Code: CloseAbnormal, Err: err}
	c.shut(false)
	return c.readErr
}

// shut closes the TCP connection, at once or, for a client after the
// close handshake, once the server has closed its side (bounded by
// CloseTimeout).
func (c *Conn) shut(waitForPeer bool) {
	c.closeOnce.Do(func() {
		if waitForPeer {
			c.nc.SetReadDeadline(time.Now().Add(c.opt.CloseTimeout))
			io.Copy(io.Discard, c.br)
		}
		c.nc.Close()
		close(c.done)
	})
}

// WriteMessage sends one data message in a single frame.
func (c *Conn) WriteMessage(typ MessageType, p []byte) error {
	if typ != OpText && typ != OpBinary {
		return fmt.Errorf("ws: WriteMessage with opcode %v", typ)
	}
	if typ == OpText {
		var s utf8State
		if !s.feed(p) || !s.complete() {
			return ErrInvalidUTF8
		}
	}
	c.msg <- struct{}{}
	defer func() { <-c.msg }()
	return c.writeFrame(true, typ, p)
}

// Ping sends a ping with up to 125 bytes of payload; the pong arrives
// through OnPong while a goroutine is reading.
func (c *Conn) Ping(payload []byte) error {
	if len(payload) > 125 {
		return errors.New("ws: ping payload over 125 bytes")
	}
	return c.writeFrame(true, OpPing, payload)
}

// writeFrame writes one frame, masking it if this is the client.
func (c *Conn) writeFrame(fin bool, op Opcode, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.writeErr != nil {
		return c.writeErr
	}
	if c.closeSent {
		return ErrCloseSent
	}
	if op == OpClose {
		c.closeSent = true
	}
	h := Header{Fin: fin, Op: op, Length: int64(len(p)), Masked: !c.server}
	if h.Masked {
		binary.LittleEndian.PutUint32(h.Mask[:], uint32(c.rng.Uint64()))
	}
	if c.opt.WriteTimeout > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(c.opt.WriteTimeout))
	}
	if c.opt.Trace != nil {
		c.opt.Trace(true, h, p)
	}
	err := c.writeRaw(h, p)
	if err != nil {
		c.writeErr = err
	}
	return err
}

// maxCopy is how much payload a write copies next to its header rather
// than handing the kernel two buffers.
const maxCopy = 2048

func (c *Conn) writeRaw(h Header, p []byte) error {
	buf := AppendHeader(c.wbuf[:0], h)
	if !h.Masked {
		if len(p) <= maxCopy {
			_, err := c.nc.Write(append(buf, p...))
			return err
		}
		// Header and payload in one writev, the payload not copied.
		c.vec = append(c.vec[:0], buf, p)
		_, err := c.vec.WriteTo(c.nc)
		return err
	}
	// A client must mask, which means copying: in pieces of the buffer.
	pos := 0
	for {
		n := min(len(p), cap(c.wbuf)-len(buf))
		start := len(buf)
		buf = append(buf, p[:n]...)
		pos = maskBytes(h.Mask, pos, buf[start:])
		if _, err := c.nc.Write(buf); err != nil {
			return err
		}
		p = p[n:]
		if len(p) == 0 {
			return nil
		}
		buf = c.wbuf[:0]
	}
}

// sendClose sends a close frame unless one was sent already.
func (c *Conn) sendClose(code CloseCode, reason string) error {
	err := c.writeFrame(true, OpClose, closePayload(code, reason))
	if errors.Is(err, ErrCloseSent) {
		return nil
	}
	return err
}

// Close starts the close handshake with code and reason (use
// CloseNormal and "" for an ordinary goodbye), waits up to CloseTimeout
// for the peer's close frame, and closes the connection. If another
// goroutine is in ReadMessage, that goroutine reads the peer's answer
// and returns it as a *CloseError.
func (c *Conn) Close(code CloseCode, reason string) error {
	if !code.valid() {
		return fmt.Errorf("ws: close code %d may not be sent", code)
	}
	err := c.sendClose(code, reason)
	if c.rmu.TryLock() {
		// Nobody is reading: read and drop until the peer's close.
		c.nc.SetReadDeadline(time.Now().Add(c.opt.CloseTimeout))
		for c.readErr == nil {
			h, ferr := c.nextFrame()
			if ferr != nil {
				break
			}
			if _, derr := c.br.Discard(int(h.Length)); derr != nil {
				c.lost(derr)
			}
		}
		c.rmu.Unlock()
	} else {
		t := time.NewTimer(c.opt.CloseTimeout)
		select {
		case <-c.closeRecv:
		case <-c.done: // the reader already ended the connection
		case <-t.C:
		}
		t.Stop()
	}
	c.shut(false)
	return err
}
