package quic

import (
	"errors"
	"io"
	"net"
	"os"
	"time"
)

// Stream is one QUIC stream (RFC 9000, Sections 2 and 3). It reads and
// writes like a net.Conn: Read returns io.EOF after the peer's FIN,
// CloseWrite sends a FIN, Close ends both directions, and deadlines
// work. A unidirectional stream has only one side: Write fails on one
// the peer opened, Read on one this side opened.
type Stream struct {
	c  *Conn
	id uint64

	// early is set when data of this stream arrived in 0-RTT packets,
	// which an attacker can replay (RFC 9001, Section 9.2).
	early bool

	// Receive side.
	hasRecv      bool
	in           recvBuffer
	inMax        uint64 // the limit we advertised (MAX_STREAM_DATA)
	inWindow     uint64
	inHighest    uint64 // highest offset received
	finalSize    uint64
	finKnown     bool
	readErr      error // once set, Read returns it
	readClosed   bool  // CloseRead was called
	stopCode     uint64
	stopPending  bool // STOP_SENDING to send
	maxPending   bool // MAX_STREAM_DATA to send
	eofDelivered bool

	// Send side.
	hasSend      bool
	out          sendBuffer
	outMax       uint64 // the peer's limit
	outLimit     int    // bytes Write may buffer
	finWanted    bool   // CloseWrite was called: FIN after the last byte
	finSent      bool
	finAcked     bool
	writeErr     error
	resetCode    uint64
	resetPending bool // RESET_STREAM to send
	resetSent    bool
	resetAcked   bool
	blockedAt    uint64 // the limit a STREAM_DATA_BLOCKED was sent for
	blockedSend  bool
	queued       bool // in the connection's send queue
	ctrlQueued   bool // in the connection's control queue
	removed      bool

	rd, wd          deadline
	readCh, writeCh chan struct{}
	sendDoneCh      chan struct{} // closed when the send side is finished
	zeroRTTSent     bool
}

// Stream id bits (RFC 9000, Section 2.1).
const (
	streamServerBit = 0x1
	streamUniBit    = 0x2
)

func isUni(id uint64) bool { return id&streamUniBit != 0 }

func newStream(c *Conn, id uint64) *Stream {
	s := &Stream{c: c, id: id, rd: makeDeadline(), wd: makeDeadline(),
		readCh: make(chan struct{}, 1), writeCh: make(chan struct{}, 1),
		outLimit: int(c.config.MaxStreamWriteBuffer)}
	local := (id&streamServerBit != 0) == c.isServer
	s.hasSend = !isUni(id) || local
	s.hasRecv = !isUni(id) || !local
	s.sendDoneCh = make(chan struct{})
	if !s.hasSend {
		close(s.sendDoneCh)
	}
	return s
}

// WriteDone returns a channel closed once the send side is finished: the
// peer acknowledged all data and the FIN, or acknowledged a reset, or the
// connection closed. A server waits on it before closing a connection so
// that a response is not cut off.
func (s *Stream) WriteDone() <-chan struct{} { return s.sendDoneCh }

// checkWriteDone closes writeDone when the send side has finished.
func (s *Stream) checkWriteDone() {
	if s.hasSend && (s.sendDone() || s.writeErr != nil &&
		s.c.state != stateActive) && !isClosed(s.sendDoneCh) {
		close(s.sendDoneCh)
	}
}

// ID returns the stream id.
func (s *Stream) ID() uint64 { return s.id }

// Conn returns the connection the stream belongs to.
func (s *Stream) Conn() *Conn { return s.c }

// Early reports whether data of this stream arrived in 0-RTT packets.
// Such data may be a replay; a server should act on it only if the
// request is idempotent (RFC 9001, Section 9.2).
func (s *Stream) Early() bool {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.early
}

// LocalAddr returns the connection's local address.
func (s *Stream) LocalAddr() net.Addr { return s.c.LocalAddr() }

// RemoteAddr returns the peer's address.
func (s *Stream) RemoteAddr() net.Addr { return s.c.RemoteAddr() }

// SetDeadline sets the read and write deadlines.
func (s *Stream) SetDeadline(t time.Time) error {
	s.rd.set(t)
	s.wd.set(t)
	return nil
}

// SetReadDeadline sets the deadline for Read.
func (s *Stream) SetReadDeadline(t time.Time) error { s.rd.set(t); return nil }

// SetWriteDeadline sets the deadline for Write.
func (s *Stream) SetWriteDeadline(t time.Time) error { s.wd.set(t); return nil }

var (
	errNoRecv = errors.New("quic: read on a send-only stream")
	errNoSend = errors.New("quic: write on a receive-only stream")
	errClosed = errors.New("quic: write after CloseWrite")
)

// Read reads data in order. It returns io.EOF after the peer's FIN and
// a *StreamError if the peer reset the stream.
func (s *Stream) Read(p []byte) (int, error) {
	c := s.c
	for {
		c.mu.Lock()
		if !s.hasRecv {
			c.mu.Unlock()
			return 0, errNoRecv
		}
		if s.readErr != nil {
			err := s.readErr
			c.mu.Unlock()
			return 0, err
		}
		if s.in.readable() > 0 {
			n := s.in.read(p)
			wake := s.onConsumed(n)
			c.mu.Unlock()
			if wake {
				c.wakeup()
			}
			return n, nil
		}
		if s.finKnown && s.in.readOff == s.finalSize {
			s.eofDelivered = true
			c.streams.maybeRemove(s)
			c.mu.Unlock()
			c.wakeup()
			return 0, io.EOF
		}
		if len(p) == 0 {
			c.mu.Unlock()
			return 0, nil
		}
		dl := s.rd.wait()
		c.mu.Unlock()
		select {
		case <-s.readCh:
		case <-dl:
			return 0, os.ErrDeadlineExceeded
		}
	}
}

// onConsumed credits flow control for n bytes the application read and
// reports whether a MAX_STREAM_DATA or MAX_DATA frame is now due.
func (s *Stream) onConsumed(n int) bool {
	c := s.c
	wake := c.flow.onConsumed(uint64(n))
	// Move the window when half of it was used (RFC 9000, Section 4.2).
	if !s.finKnown && s.inMax-s.in.readOff < s.inWindow/2 {
		s.inMax = s.in.readOff + s.inWindow
		s.maxPending = true
		c.streams.queueCtrl(s)
		wake = true
	}
	return wake
}

// Write writes data to the stream, blocking while the send buffer is
// full.
func (s *Stream) Write(p []byte) (int, error) {
	c := s.c
	n := 0
	for {
		c.mu.Lock()
		switch {
		case !s.hasSend:
			c.mu.Unlock()
			return 0, errNoSend
		case s.writeErr != nil:
			err := s.writeErr
			c.mu.Unlock()
			return n, err
		case s.finWanted:
			c.mu.Unlock()
			return n, errClosed
		}
		if room := s.outLimit - s.out.unacked(); room > 0 {
			k := min(room, len(p)-n)
			s.out.write(p[n : n+k])
			n += k
			c.streams.queueSend(s)
			c.mu.Unlock()
			c.wakeup()
			if n == len(p) {
				return n, nil
			}
			continue
		}
		dl := s.wd.wait()
		c.mu.Unlock()
		select {
		case <-s.writeCh:
		case <-dl:
			return n, os.ErrDeadlineExceeded
		}
	}
}

// CloseWrite ends the send side with a FIN after the data written so
// far, like TCP's half-close.
func (s *Stream) CloseWrite() error {
	c := s.c
	c.mu.Lock()
	if !s.hasSend || s.finWanted || s.writeErr != nil {
		c.mu.Unlock()
		return nil
	}
	s.finWanted = true
	c.streams.queueSend(s)
	c.mu.Unlock()
	c.wakeup()
	return nil
}

// CloseRead tells the peer to stop sending with STOP_SENDING and the
// given application error code, and discards what arrives.
func (s *Stream) CloseRead(code uint64) error {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	s.closeReadLocked(code)
	c.wakeup()
	return nil
}

func (s *Stream) closeReadLocked(code uint64) {
	c := s.c
	if !s.hasRecv || s.readClosed {
		return
	}
	s.readClosed = true
	if s.readErr == nil {
		s.readErr = net.ErrClosed
	}
	// Unread data counts as consumed for the connection's window.
	n := s.in.buffered()
	s.in = recvBuffer{readOff: s.in.readOff + uint64(n)}
	c.flow.onConsumed(uint64(n))
	if !s.finKnown {
		s.stopCode = code
		s.stopPending = true
		c.streams.queueCtrl(s)
	}
	signal(s.readCh)
	c.streams.maybeRemove(s)
}

// Reset abandons the send side with RESET_STREAM and an application
// error code: data not yet delivered is not sent again.
func (s *Stream) Reset(code uint64) error {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	s.resetLocked(code, nil)
	c.wakeup()
	return nil
}

func (s *Stream) resetLocked(code uint64, err error) {
	c := s.c
	if !s.hasSend || s.resetPending || s.resetSent || s.finAcked {
		return
	}
	if err == nil {
		err = &StreamError{StreamID: s.id, Code: code}
	}
	if s.writeErr == nil {
		s.writeErr = err
	}
	s.resetCode = code
	s.resetPending = true
	s.out.lost = nil
	c.streams.queueCtrl(s)
	signal(s.writeCh)
}

// Close closes the stream in both directions: a FIN on the send side,
// and STOP_SENDING (code 0) on the receive side if the peer's data was
// not read to the end.
func (s *Stream) Close() error {
	s.CloseWrite()
	c := s.c
	c.mu.Lock()
	if s.hasRecv && !s.eofDelivered && !(s.finKnown && s.in.readOff == s.finalSize) {
		s.closeReadLocked(0)
	}
	c.mu.Unlock()
	c.wakeup()
	return nil
}

// onData handles a STREAM frame (RFC 9000, Sections 2.2 and 4.5).
func (s *Stream) onData(f *frame, early bool) error {
	c := s.c
	end := f.offset + uint64(len(f.data))
	if s.finKnown && (end > s.finalSize || f.fin && end != s.finalSize) {
		return frameError(FinalSizeError, f.typ,
			"stream %d: data past its final size", s.id)
	}
	if f.fin {
		if end < s.inHighest {
			return frameError(FinalSizeError, f.typ,
				"stream %d: final size below data received", s.id)
		}
		s.finKnown = true
		s.finalSize = end
	}
	if end > s.inMax {
		return frameError(FlowControlError, f.typ,
			"stream %d: data to offset %d past the limit %d", s.id, end,
			s.inMax)
	}
	if end > s.inHighest {
		if err := c.flow.onReceived(end - s.inHighest); err != nil {
			return err
		}
		s.inHighest = end
	}
	if early {
		s.early = true
	}
	if s.readErr != nil {
		// Reset or closed for reading: count the data as consumed.
		if s.readClosed && end > s.in.readOff {
			c.flow.onConsumed(end - s.in.readOff)
			s.in.readOff = end
		}
		c.streams.maybeRemove(s)
		return nil
	}
	s.in.write(f.offset, f.data)
	if s.finKnown {
		// No more flow-control updates for a finished stream.
		s.maxPending = false
	}
	signal(s.readCh)
	return nil
}

// onReset handles RESET_STREAM: the peer abandoned its send side.
func (s *Stream) onReset(f *frame) error {
	c := s.c
	if s.finKnown && f.value != s.finalSize || f.value < s.inHighest {
		return frameError(FinalSizeError, f.typ,
			"stream %d: reset with a different final size", s.id)
	}
	if f.value > s.inMax {
		return frameError(FlowControlError, f.typ,
			"stream %d: final size past the limit", s.id)
	}
	if f.value > s.inHighest {
		if err := c.flow.onReceived(f.value - s.inHighest); err != nil {
			return err
		}
		s.inHighest = f.value
	}
	s.finKnown = true
	s.finalSize = f.value
	// The unread rest of the stream counts as consumed.
	if f.value > s.in.readOff {
		c.flow.onConsumed(f.value - s.in.readOff)
	}
	s.in = recvBuffer{readOff: f.value}
	s.maxPending = false
	s.stopPending = false
	if s.readErr == nil {
		s.readErr = &StreamError{StreamID: s.id, Code: f.code, Remote: true}
	}
	signal(s.readCh)
	c.streams.maybeRemove(s)
	return nil
}

// onStopSending handles STOP_SENDING: the peer will not read, so the
// send side is reset with the peer's code (RFC 9000, Section 3.5).
func (s *Stream) onStopSending(f *frame) {
	s.resetLocked(f.code, &StreamError{StreamID: s.id, Code: f.code,
		Remote: true})
}

// onMaxStreamData raises the peer's limit for this stream.
func (s *Stream) onMaxStreamData(v uint64) {
	if v > s.outMax {
		s.outMax = v
		s.c.streams.queueSend(s)
	}
}

func (s *Stream) onDataAcked(off, n uint64, fin bool) {
	s.out.ack(off, off+n)
	if fin {
		s.finAcked = true
	}
	s.checkWriteDone()
	if s.out.unacked() < s.outLimit {
		signal(s.writeCh)
	}
	s.c.streams.maybeRemove(s)
}

func (s *Stream) onDataLost(off, n uint64, fin bool) {
	if s.resetPending || s.resetSent {
		return // abandoned: nothing is sent again
	}
	s.out.loss(off, off+n)
	if fin && !s.finAcked {
		s.finSent = false
	}
	s.c.streams.queueSend(s)
}

func (s *Stream) onResetAcked() {
	s.resetAcked = true
	s.checkWriteDone()
	s.c.streams.maybeRemove(s)
}

func (s *Stream) onResetLost() {
	if !s.resetAcked {
		s.resetSent = false
		s.resetPending = true
		s.c.streams.queueCtrl(s)
	}
}

func (s *Stream) onStopSendingLost() {
	if s.readClosed && !s.finKnown {
		s.stopPending = true
		s.c.streams.queueCtrl(s)
	}
}

func (s *Stream) onMaxStreamDataLost() {
	if !s.finKnown && s.readErr == nil {
		s.maxPending = true
		s.c.streams.queueCtrl(s)
	}
}

// sendDone reports whether the send side needs nothing more: every
// byte and the FIN acknowledged (the FIN's packet may be acknowledged
// before an earlier one that is still to be resent), or a reset
// acknowledged.
func (s *Stream) sendDone() bool {
	return !s.hasSend || s.finAcked && s.out.unacked() == 0 || s.resetAcked
}

// recvDone reports whether the receive side needs nothing more.
func (s *Stream) recvDone() bool {
	if !s.hasRecv {
		return true
	}
	return s.finKnown && (s.eofDelivered || s.readErr != nil ||
		s.in.readOff == s.finalSize && s.readClosed)
}

// fail ends the stream with the connection's error.
func (s *Stream) fail(err error) {
	if s.readErr == nil {
		s.readErr = err
	}
	if s.writeErr == nil {
		s.writeErr = err
	}
	signal(s.readCh)
	signal(s.writeCh)
	if s.hasSend && !isClosed(s.sendDoneCh) {
		close(s.sendDoneCh)
	}
}
