package quic

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// connState is where a connection is in its life (RFC 9000, Section 10).
type connState int

const (
	stateActive   connState = iota // handshaking or established
	stateClosing                   // we sent CONNECTION_CLOSE
	stateDraining                  // the peer sent CONNECTION_CLOSE
	stateClosed                    // all state can go
)

// Conn is a QUIC connection. Its methods are safe for concurrent use.
//
// One goroutine per connection owns the protocol: it reads the datagrams
// the endpoint routes to it, runs the timers and sends packets. The
// application's calls (stream reads and writes, opening streams,
// closing) take the connection's lock, change its state and wake that
// goroutine.
type Conn struct {
	ep       *Endpoint
	config   *Config
	isServer bool
	ownsEP   bool // Dial made the endpoint: close it with the connection

	mu sync.Mutex

	tls       *tls.QUICConn
	tlsCancel context.CancelFunc

	path     path  // the peer's current address
	prevPath *path // where to go back to if a new path fails validation
	cids     connIDs

	spaces [numSpaces]space
	rec    recovery
	app    appKeys
	// 0-RTT keys: the client seals with them, the server opens.
	zeroRTTSeal, zeroRTTOpen *keys
	zeroRTTState             earlyState
	zeroRTTDrop              time.Time // when the server drops its 0-RTT keys

	// Retry and the handshake's connection ids.
	originalDCID []byte // the client's first destination id
	retrySCID    []byte // client: the id a Retry gave, if any
	token        []byte // client: the Retry token to send
	gotRetry     bool
	gotInitial   bool // client: the server's first Initial arrived

	handshakeComplete  bool
	handshakeConfirmed bool
	addrValidated      bool // server: the client proved its address
	localParams        transportParams
	peerParams         transportParams
	havePeerParams     bool
	remembered         *rememberedParams // client: for 0-RTT
	peerSCID           []byte            // the peer's first source id
	peerDCID           []byte            // our id the peer used last

	streams streamSet
	flow    connFlow
	ctrl    controlFrames

	idleTimeout  time.Duration
	lastRecv     time.Time // last packet processed
	lastAckSent  time.Time // first ack-eliciting packet sent after lastRecv
	started      time.Time
	keepAliveDue time.Time
	mtu          mtuProbe

	state     connState
	closeErr  error     // what the application sees once closed
	closeWire []byte    // the CONNECTION_CLOSE payload to send
	closeApp  bool      // it is an application close (type 0x1d)
	closeEnd  time.Time // when the closing or draining state ends
	closeSent int       // packets answered while closing
	closeRecv int

	// Undecryptable packets held until their keys arrive (RFC 9001,
	// Section 5.7), with where they came from.
	held []heldPacket

	recvq    chan datagram
	wake     chan struct{}
	done     chan struct{} // closed when the connection is gone
	hsDone   chan struct{} // closed when the handshake completes or fails
	ready    chan struct{} // closed when streams may be used (0-RTT or 1-RTT)
	hsClosed bool
	rdClosed bool

	queueDrops atomic.Uint64 // datagrams dropped: recvq was full
	// Datagram counters for traces.
	dgSent, dgRecv uint64
	// Statistics.
	stats Stats

	sendFree [][]byte // datagram buffers to reuse
	frame    frame    // reused by the decoder
	out      []outDatagram
}

// Stats counts what a connection did.
type Stats struct {
	PacketsSent, PacketsReceived uint64
	BytesSent, BytesReceived     uint64
	PacketsLost                  uint64
	// Retransmitted counts frames sent again after their packet was
	// declared lost.
	Retransmitted uint64
	// Migrations counts peer address changes this side followed.
	Migrations int
	// PathChallenges counts PATH_CHALLENGE frames sent.
	PathChallenges int
	// KeyUpdates counts 1-RTT key phase changes.
	KeyUpdates int
	// QueueDrops counts datagrams dropped because the connection's
	// goroutine fell behind.
	QueueDrops uint64
}

// datagram is one received UDP payload and where it came from.
type datagram struct {
	b    []byte
	addr netip.AddrPort
	buf  *[]byte // pooled backing buffer, returned after processing
}

type heldPacket struct {
	b    []byte
	addr netip.AddrPort
}

// maxHeld bounds the packets held for keys not yet available.
const maxHeld = 16

// recvqLen bounds the datagrams waiting for the connection's goroutine;
// beyond it they are dropped, as a full socket buffer would.
const recvqLen = 1024

// earlyState tracks 0-RTT on a connection.
type earlyState int

const (
	earlyNone     earlyState = iota
	earlyAttempt             // client sent, or server accepted, 0-RTT
	earlyAccepted            // the server accepted it
	earlyRejected            // the server refused it
)

func newConn(ep *Endpoint, config *Config, isServer bool,
	peer netip.AddrPort) *Conn {
	c := &Conn{
		ep: ep, config: config, isServer: isServer,
		recvq:   make(chan datagram, recvqLen),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		hsDone:  make(chan struct{}),
		ready:   make(chan struct{}),
		started: time.Now(),
	}
	c.path = path{addr: peer, validated: !isServer}
	for i := range c.spaces {
		c.spaces[i].init()
	}
	c.rec.init(MinInitialDatagram)
	c.idleTimeout = config.MaxIdleTimeout
	c.lastRecv = c.started
	c.streams.init(c)
	c.flow.init(config)
	return c
}

// LocalAddr returns the endpoint's address.
func (c *Conn) LocalAddr() net.Addr { return c.ep.LocalAddr() }

// RemoteAddr returns the peer's current address; it changes when the
// peer migrates.
func (c *Conn) RemoteAddr() net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	return net.UDPAddrFromAddrPort(c.path.addr)
}

// ConnectionState returns the TLS state of the connection.
func (c *Conn) ConnectionState() tls.ConnectionState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tls.ConnectionState()
}

// Stats returns what the connection counted so far.
func (c *Conn) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stats
	st.QueueDrops = c.queueDrops.Load()
	return st
}

// RTT returns the smoothed round-trip time estimate.
func (c *Conn) RTT() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rec.rtt.smoothed
}

// Used0RTT reports whether this connection carried 0-RTT data that the
// server accepted.
func (c *Conn) Used0RTT() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.zeroRTTState == earlyAccepted
}

// EarlyDataRejected reports whether the client attempted 0-RTT and the
// server refused it; the engine then sent the early stream data again in
// 1-RTT packets.
func (c *Conn) EarlyDataRejected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.zeroRTTState == earlyRejected
}

// HandshakeComplete returns a channel closed once the TLS handshake has
// completed (or the connection failed first).
func (c *Conn) HandshakeComplete() <-chan struct{} { return c.hsDone }

// Done returns a channel closed when the connection is closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection closed, or nil while it is open.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateActive {
		return nil
	}
	return c.closeErr
}

// Close closes the connection with no error (application code 0).
func (c *Conn) Close() error { return c.CloseWithError(0, "") }

// CloseWithError closes the connection, sending CONNECTION_CLOSE with an
// application error code and reason. Streams fail with an
// *ApplicationError. It returns once the frame is sent; the connection
// then lingers in the closing state (three PTOs) to answer a peer that
// did not hear it, unless its endpoint was made by Dial.
func (c *Conn) CloseWithError(code uint64, reason string) error {
	c.mu.Lock()
	c.closeLocked(&ApplicationError{Code: code, Reason: reason}, true)
	c.mu.Unlock()
	c.wakeup()
	if c.ownsEP {
		<-c.done // the closing state ends at once: see afterClose
		return nil
	}
	select {
	case <-c.closeFlushed():
	case <-c.done:
	}
	return nil
}

// closeFlushed returns a channel closed once the closing packet left.
func (c *Conn) closeFlushed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctrl.closeSentCh == nil {
		c.ctrl.closeSentCh = make(chan struct{})
		if c.closeSent > 0 || c.state != stateClosing {
			close(c.ctrl.closeSentCh)
		}
	}
	return c.ctrl.closeSentCh
}

// closeLocked starts closing with err. A local error is sent to the peer
// in CONNECTION_CLOSE; app says whether it is an application close.
func (c *Conn) closeLocked(err error, app bool) {
	if c.state != stateActive {
		return
	}
	c.closeErr = err
	var te *TransportError
	var ae *ApplicationError
	switch {
	case errors.As(err, &ae):
		// Before the handshake is confirmed the peer may not have 1-RTT
		// keys: an application close becomes APPLICATION_ERROR in the
		// Initial or Handshake space (RFC 9000, Section 10.2.3).
		c.closeApp = true
		c.closeWire = appendConnectionClose(nil, true, ae.Code, 0, ae.Reason)
	case errors.As(err, &te):
		c.closeWire = appendConnectionClose(nil, false, uint64(te.Code),
			te.FrameType, te.Reason)
	default:
		c.closeWire = appendConnectionClose(nil, false, uint64(InternalError),
			0, err.Error())
	}
	c.state = stateClosing
	c.closeEnd = time.Now().Add(3 * c.rec.pto(c, spaceApp))
	c.afterClose()
}

// drainLocked enters the draining state after the peer closed (or reset)
// the connection: nothing more is sent.
func (c *Conn) drainLocked(err error) {
	if c.state == stateClosed || c.state == stateDraining {
		return
	}
	if c.state == stateActive {
		c.closeErr = err
	}
	c.state = stateDraining
	c.closeEnd = time.Now().Add(3 * c.rec.pto(c, spaceApp))
	c.afterClose()
}

// afterClose wakes everyone waiting on the connection.
func (c *Conn) afterClose() {
	c.streams.closeAll(c.closeErr)
	c.closeHandshake()
	c.closeReady()
	if c.ownsEP {
		// Nothing else shares the socket, so the closing state may end
		// as soon as the close is sent (RFC 9000, Section 10.2).
		c.closeEnd = time.Now()
	}
}

func (c *Conn) closeHandshake() {
	if !c.hsClosed {
		c.hsClosed = true
		close(c.hsDone)
	}
}

func (c *Conn) closeReady() {
	if !c.rdClosed {
		c.rdClosed = true
		close(c.ready)
	}
}

// wakeup tells the connection's goroutine that there may be work.
func (c *Conn) wakeup() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// deliver hands a datagram to the connection; it never blocks.
func (c *Conn) deliver(d datagram) {
	select {
	case c.recvq <- d:
	default:
		c.queueDrops.Add(1)
		c.ep.putBuf(d.buf)
	}
}

// maxBatch bounds the datagrams handled or built per turn of the loop.
const maxBatch = 32

// run is the connection's goroutine.
func (c *Conn) run() {
	defer c.finish()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		c.mu.Lock()
		now := time.Now()
		c.onTimers(now)
		if c.state == stateClosed {
			c.mu.Unlock()
			return
		}
		out := c.flush(now)
		next := c.nextTimer(now)
		c.mu.Unlock()
		if len(out) > 0 {
			c.ep.writeBatch(out)
			c.mu.Lock()
			c.recycle(out)
			c.mu.Unlock()
			continue // there may be more to send
		}
		timer.Reset(max(time.Until(next), 0))
		select {
		case d := <-c.recvq:
			c.mu.Lock()
			c.handleDatagram(d)
			for i := 0; i < maxBatch; i++ {
				select {
				case d = <-c.recvq:
					c.handleDatagram(d)
					continue
				default:
				}
				break
			}
			c.mu.Unlock()
		case <-c.wake:
		case <-timer.C:
		case <-c.ep.closing:
			c.mu.Lock()
			c.closeLocked(&ApplicationError{Code: 0, Reason: "endpoint closed"},
				true)
			c.closeEnd = time.Now()
			c.mu.Unlock()
		}
	}
}

// finish releases everything once the connection is closed.
func (c *Conn) finish() {
	c.mu.Lock()
	if c.closeErr == nil {
		c.closeErr = net.ErrClosed
	}
	c.state = stateClosed
	c.streams.closeAll(c.closeErr)
	c.closeHandshake()
	c.closeReady()
	if c.ctrl.closeSentCh != nil {
		select {
		case <-c.ctrl.closeSentCh:
		default:
			close(c.ctrl.closeSentCh)
		}
	}
	tc := c.tls
	cancel := c.tlsCancel
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if tc != nil {
		tc.Close()
	}
	c.ep.removeConn(c)
	// Free the datagrams still queued.
	for {
		select {
		case d := <-c.recvq:
			c.ep.putBuf(d.buf)
			continue
		default:
		}
		break
	}
	if c.ownsEP {
		c.ep.closeSocket()
	}
	close(c.done)
}

// onTimers runs whatever timer has expired.
func (c *Conn) onTimers(now time.Time) {
	switch c.state {
	case stateClosing:
		// The state ends after its time, but not before the close
		// frame went out once.
		if c.closeSent > 0 && !now.Before(c.closeEnd) {
			c.state = stateClosed
		}
		return
	case stateDraining:
		if !now.Before(c.closeEnd) {
			c.state = stateClosed
		}
		return
	}
	if !c.handshakeComplete && now.Sub(c.started) >= c.config.HandshakeTimeout {
		c.closeLocked(errorf(ConnectionRefused, "handshake timeout"), false)
		c.closeErr = context.DeadlineExceeded
		return
	}
	if now.Sub(c.idleStart()) >= c.effectiveIdle() {
		// Idle timeout: close silently (RFC 9000, Section 10.1).
		c.closeErr = ErrIdleTimeout
		c.state = stateClosed
		return
	}
	if t := c.rec.lossTimer; !t.IsZero() && !now.Before(t) {
		c.onLossDetectionTimeout(now)
	}
	c.path.onTimer(c, now)
	if !c.zeroRTTDrop.IsZero() && !now.Before(c.zeroRTTDrop) {
		c.zeroRTTOpen = nil
		c.zeroRTTDrop = time.Time{}
	}
	if c.config.KeepAlivePeriod > 0 && c.handshakeComplete &&
		now.Sub(c.lastActivity()) >= c.config.KeepAlivePeriod {
		c.ctrl.ping = true
	}
}

// idleStart is when the idle timer last restarted: on each packet
// received, and on the first ack-eliciting packet sent after one
// (RFC 9000, Section 10.1).
func (c *Conn) idleStart() time.Time {
	if c.lastAckSent.After(c.lastRecv) {
		return c.lastAckSent
	}
	return c.lastRecv
}

// lastActivity is the later of the last packet received and the last
// ack-eliciting packet sent.
func (c *Conn) lastActivity() time.Time {
	if c.rec.lastAckElicitingSent.After(c.lastRecv) {
		return c.rec.lastAckElicitingSent
	}
	return c.lastRecv
}

// effectiveIdle is the idle timeout in force: the smaller of both
// sides' values, and at least three PTOs (RFC 9000, Section 10.1).
func (c *Conn) effectiveIdle() time.Duration {
	d := c.idleTimeout
	if c.havePeerParams && c.peerParams.maxIdleTimeout > 0 {
		d = min(d, c.peerParams.maxIdleTimeout)
	}
	return max(d, 3*c.rec.pto(c, spaceApp))
}

// nextTimer returns when the loop must wake up next.
func (c *Conn) nextTimer(now time.Time) time.Time {
	next := now.Add(time.Hour)
	early := func(t time.Time) {
		if !t.IsZero() && t.Before(next) {
			next = t
		}
	}
	switch c.state {
	case stateClosing, stateDraining:
		early(c.closeEnd)
		return next
	}
	if !c.handshakeComplete {
		early(c.started.Add(c.config.HandshakeTimeout))
	}
	early(c.idleStart().Add(c.effectiveIdle()))
	early(c.rec.lossTimer)
	early(c.rec.pacerWake)
	for i := range c.spaces {
		if s := &c.spaces[i]; s.ackEliciting > 0 && !s.discarded {
			early(s.ackDeadline)
		}
	}
	early(c.path.deadline())
	early(c.zeroRTTDrop)
	if c.config.KeepAlivePeriod > 0 && c.handshakeComplete {
		early(c.lastActivity().Add(c.config.KeepAlivePeriod))
	}
	return next
}
