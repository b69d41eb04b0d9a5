package quic

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// Endpoint is a UDP socket carrying QUIC connections: it reads every
// datagram, routes it to its connection by destination connection id,
// and, if it was made by Listen, creates connections for new clients.
type Endpoint struct {
	conn     *net.UDPConn
	config   *Config // for accepted connections; nil on a client endpoint
	resetKey []byte
	tokens   *tokenKey

	mu          sync.Mutex
	ids         map[string]*Conn
	resetTokens map[[16]byte]*Conn
	conns       map[*Conn]bool
	acceptq     []*Conn
	accepted_   map[*Conn]bool
	acceptCh    chan struct{}

	closing   chan struct{}
	closeOnce sync.Once
	sockOnce  sync.Once
	connWG    sync.WaitGroup
	readWG    sync.WaitGroup

	recvPool sync.Pool
}

// maxConns bounds the connections one endpoint holds; new clients beyond
// it are ignored.
const maxConns = 4096

// maxAcceptQueue bounds connections handshaken but not yet accepted.
const maxAcceptQueue = 256

// Listen opens a UDP socket on address (for example "127.0.0.1:4433")
// and returns an endpoint that accepts QUIC connections with config.
func Listen(network, address string, config *Config) (*Endpoint, error) {
	cfg, err := config.prepare(true)
	if err != nil {
		return nil, err
	}
	laddr, err := net.ResolveUDPAddr(network, address)
	if err != nil {
		return nil, err
	}
	uc, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return newEndpoint(uc, cfg), nil
}

// NewEndpoint runs QUIC on an existing UDP socket. With a nil config it
// only dials; with one it also accepts.
func NewEndpoint(uc *net.UDPConn, config *Config) (*Endpoint, error) {
	var cfg *Config
	if config != nil {
		var err error
		if cfg, err = config.prepare(true); err != nil {
			return nil, err
		}
	}
	return newEndpoint(uc, cfg), nil
}

func newEndpoint(uc *net.UDPConn, cfg *Config) *Endpoint {
	e := &Endpoint{conn: uc, config: cfg,
		resetKey:    make([]byte, 32),
		tokens:      newTokenKey(),
		ids:         make(map[string]*Conn),
		resetTokens: make(map[[16]byte]*Conn),
		conns:       make(map[*Conn]bool),
		accepted_:   make(map[*Conn]bool),
		acceptCh:    make(chan struct{}, 1),
		closing:     make(chan struct{}),
	}
	rand.Read(e.resetKey)
	e.recvPool.New = func() any { b := make([]byte, recvBufSize); return &b }
	// Bigger socket buffers absorb bursts; the kernel may cap them.
	uc.SetReadBuffer(4 << 20)
	uc.SetWriteBuffer(4 << 20)
	e.readWG.Go(e.readLoop)
	return e
}

const (
	recvBufSize = 2048
	sendBufSize = 2048
)

// LocalAddr returns the socket's address.
func (e *Endpoint) LocalAddr() net.Addr { return e.conn.LocalAddr() }

// Dial opens a connection to address, creating an endpoint on an
// ephemeral port that closes with the connection. It returns once the
// handshake has completed.
func Dial(ctx context.Context, network, address string, config *Config) (*Conn, error) {
	uc, err := net.ListenUDP(network, nil)
	if err != nil {
		return nil, err
	}
	e := newEndpoint(uc, nil)
	c, err := e.dial(ctx, address, config, false, true)
	if err != nil {
		e.Close()
		return nil, err
	}
	return c, nil
}

// DialEarly is Dial for 0-RTT: if config.TLSConfig holds a session that
// allows early data for this server, it returns as soon as 0-RTT keys
// exist, and streams opened right away carry their data in 0-RTT
// packets. Otherwise it behaves like Dial.
func DialEarly(ctx context.Context, network, address string, config *Config) (*Conn, error) {
	uc, err := net.ListenUDP(network, nil)
	if err != nil {
		return nil, err
	}
	e := newEndpoint(uc, nil)
	c, err := e.dial(ctx, address, config, true, true)
	if err != nil {
		e.Close()
		return nil, err
	}
	return c, nil
}

// Dial opens a connection from this endpoint to address.
func (e *Endpoint) Dial(ctx context.Context, address string, config *Config) (*Conn, error) {
	return e.dial(ctx, address, config, false, false)
}

func (e *Endpoint) dial(ctx context.Context, address string, config *Config,
	early, owns bool) (*Conn, error) {
	cfg, err := config.prepare(false)
	if err != nil {
		return nil, err
	}
	ua, err := net.ResolveUDPAddr("udp", address)
	if err != nil {
		return nil, err
	}
	if cfg.TLSConfig.ServerName == "" {
		host, _, err := net.SplitHostPort(address)
		if err == nil {
			cfg.TLSConfig.ServerName = host
		}
	}
	ap := ua.AddrPort()
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	c := newConn(e, cfg, false, ap)
	c.ownsEP = owns
	c.originalDCID = newConnID()
	c.cids.peer = []peerConnID{{id: c.originalDCID}}
	c.mu.Lock()
	c.addLocalID(newConnID())
	c.spaces[spaceInitial].seal, c.spaces[spaceInitial].open =
		initialKeys(c.originalDCID, false)
	err = c.startTLS()
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if !e.addConn(c) {
		return nil, net.ErrClosed
	}
	wait := c.hsDone
	if early {
		wait = c.ready
	}
	select {
	case <-wait:
	case <-ctx.Done():
		c.CloseWithError(0, "dial cancelled")
		return nil, ctx.Err()
	}
	c.mu.Lock()
	err = nil
	if c.state != stateActive {
		err = c.closeErr
	}
	c.mu.Unlock()
	if err != nil {
		<-c.done
		return nil, err
	}
	return c, nil
}

// addConn starts a connection's goroutine unless the endpoint closed.
func (e *Endpoint) addConn(c *Conn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case <-e.closing:
		return false
	default:
	}
	e.conns[c] = true
	e.connWG.Go(c.run)
	return true
}

// Accept waits for the next client whose handshake completed (or, with
// Config.Allow0RTT, whose 0-RTT data was accepted).
func (e *Endpoint) Accept(ctx context.Context) (*Conn, error) {
	if e.config == nil {
		return nil, errors.New("quic: endpoint does not accept connections")
	}
	for {
		e.mu.Lock()
		if len(e.acceptq) > 0 {
			c := e.acceptq[0]
			e.acceptq = e.acceptq[1:]
			if len(e.acceptq) > 0 {
				signal(e.acceptCh)
			}
			e.mu.Unlock()
			return c, nil
		}
		e.mu.Unlock()
		select {
		case <-e.acceptCh:
		case <-e.closing:
			return nil, net.ErrClosed
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// accepted queues a server connection for Accept, once.
func (e *Endpoint) accepted(c *Conn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.accepted_[c] || len(e.acceptq) >= maxAcceptQueue {
		return
	}
	e.accepted_[c] = true
	e.acceptq = append(e.acceptq, c)
	signal(e.acceptCh)
}

// handshakeDone queues a server connection for Accept. The client's
// original destination id stays routed to it for the connection's life,
// so that a late copy of the client's first Initial reaches this
// connection (which drops it) instead of starting a new one.
func (e *Endpoint) handshakeDone(c *Conn) { e.accepted(c) }

func (e *Endpoint) addID(id []byte, c *Conn) {
	e.mu.Lock()
	e.ids[string(id)] = c
	e.mu.Unlock()
}

func (e *Endpoint) removeID(id []byte) {
	e.mu.Lock()
	delete(e.ids, string(id))
	e.mu.Unlock()
}

func (e *Endpoint) addResetToken(t [16]byte, c *Conn) {
	e.mu.Lock()
	e.resetTokens[t] = c
	e.mu.Unlock()
}

func (e *Endpoint) removeResetToken(t [16]byte) {
	e.mu.Lock()
	delete(e.resetTokens, t)
	e.mu.Unlock()
}

// removeConn forgets a closed connection.
func (e *Endpoint) removeConn(c *Conn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, x := range e.ids {
		if x == c {
			delete(e.ids, id)
		}
	}
	for t, x := range e.resetTokens {
		if x == c {
			delete(e.resetTokens, t)
		}
	}
	delete(e.conns, c)
	delete(e.accepted_, c)
	for i, x := range e.acceptq {
		if x == c {
			e.acceptq = append(e.acceptq[:i], e.acceptq[i+1:]...)
			break
		}
	}
}

// Close closes every connection (sending CONNECTION_CLOSE) and the
// socket, and waits for all of the endpoint's goroutines.
func (e *Endpoint) Close() error {
	e.markClosing()
	e.connWG.Wait()
	e.closeSocket()
	return nil
}

// markClosing tells every connection to close. Under the lock, so that
// addConn never starts a connection once Close waits for them.
func (e *Endpoint) markClosing() {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		close(e.closing)
		e.mu.Unlock()
	})
}

// closeSocket closes the socket and waits for the read loop.
func (e *Endpoint) closeSocket() {
	e.markClosing()
	e.sockOnce.Do(func() { e.conn.Close() })
	e.readWG.Wait()
}

func (e *Endpoint) getBuf() *[]byte { return e.recvPool.Get().(*[]byte) }

func (e *Endpoint) putBuf(b *[]byte) {
	if b != nil {
		e.recvPool.Put(b)
	}
}

// getSendBuf returns an empty buffer for a datagram, reusing one the
// connection sent earlier.
func (c *Conn) getSendBuf() []byte {
	if n := len(c.sendFree); n > 0 {
		b := c.sendFree[n-1]
		c.sendFree = c.sendFree[:n-1]
		return b[:0]
	}
	return make([]byte, 0, sendBufSize)
}

func (c *Conn) putSendBuf(b []byte) {
	if cap(b) == sendBufSize && len(c.sendFree) < 2*maxBatch {
		c.sendFree = append(c.sendFree, b)
	}
}

// writeBatch writes datagrams; a failed write is a lost datagram.
func (e *Endpoint) writeBatch(out []outDatagram) {
	for _, d := range out {
		e.conn.WriteToUDPAddrPort(d.b, d.addr)
	}
}

// readLoop reads datagrams until the socket closes.
func (e *Endpoint) readLoop() {
	buf := make([]byte, 65536)
	for {
		n, addr, err := e.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // an ICMP error from an earlier send
		}
		addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
		e.handle(buf[:n], addr)
	}
}

// handle routes one datagram.
func (e *Endpoint) handle(b []byte, addr netip.AddrPort) {
	dcid, ok := dcidOf(b, connIDLen)
	if !ok {
		return
	}
	e.mu.Lock()
	c := e.ids[string(dcid)]
	if c == nil && len(b) >= 21 && b[0]&0x80 == 0 {
		// Perhaps a stateless reset for one of our connections.
		var t [16]byte
		copy(t[:], b[len(b)-16:])
		c = e.resetTokens[t]
	}
	e.mu.Unlock()
	if c != nil {
		c.deliver(e.copyDatagram(b, addr))
		return
	}
	if b[0]&0x80 == 0 {
		e.sendStatelessReset(b, addr)
		return
	}
	e.handleNewLong(b, addr)
}

// copyDatagram copies b into a pooled buffer for the connection.
func (e *Endpoint) copyDatagram(b []byte, addr netip.AddrPort) datagram {
	if len(b) > recvBufSize {
		return datagram{b: bytes.Clone(b), addr: addr}
	}
	bp := e.getBuf()
	n := copy(*bp, b)
	return datagram{b: (*bp)[:n], addr: addr, buf: bp}
}

// handleNewLong handles a long-header packet for no known connection:
// a new client's Initial, or a version this endpoint does not speak.
func (e *Endpoint) handleNewLong(b []byte, addr netip.AddrPort) {
	if e.config == nil {
		return
	}
	h, err := parseHeader(b, connIDLen)
	if errors.Is(err, errUnsupportedVersion) {
		// Answer only datagrams big enough to be an Initial, so the
		// answer never amplifies (RFC 9000, Section 6.1).
		if len(b) >= MinInitialDatagram {
			vn := appendVersionNegotiation(nil, h.scid, h.dcid)
			e.conn.WriteToUDPAddrPort(vn, addr)
		}
		return
	}
	if err != nil || h.typ != PacketInitial || len(b) < MinInitialDatagram ||
		len(h.dcid) < 8 {
		return
	}
	e.mu.Lock()
	full := len(e.conns) >= maxConns
	e.mu.Unlock()
	if full {
		return
	}
	odcid := h.dcid
	var retrySCID []byte
	if e.config.RequireAddressValidation {
		if len(h.token) == 0 {
			e.sendRetry(h, addr)
			return
		}
		var ok bool
		odcid, ok = e.tokens.open(h.token, addr)
		if !ok {
			return // invalid or expired token: drop (Section 8.1.3)
		}
		retrySCID = h.dcid
	}
	c := newConn(e, e.config, true, addr)
	c.originalDCID = bytes.Clone(odcid)
	c.retrySCID = bytes.Clone(retrySCID)
	c.peerSCID = bytes.Clone(h.scid)
	c.cids.peer = []peerConnID{{id: c.peerSCID}}
	if retrySCID != nil {
		c.addrValidated = true
		c.path.validated = true
	}
	c.mu.Lock()
	c.addLocalID(newConnID())
	c.spaces[spaceInitial].seal, c.spaces[spaceInitial].open =
		initialKeys(h.dcid, true)
	err = c.startTLS()
	c.mu.Unlock()
	if err != nil {
		return
	}
	e.addID(h.dcid, c)
	if !e.addConn(c) {
		return
	}
	c.deliver(e.copyDatagram(b, addr))
}

// sendRetry answers a client's first Initial with a Retry carrying an
// address validation token (RFC 9000, Section 8.1.2).
func (e *Endpoint) sendRetry(h header, addr netip.AddrPort) {
	scid := newConnID()
	token := e.tokens.seal(h.dcid, addr)
	pkt := appendRetry(nil, h.scid, scid, h.dcid, token)
	e.conn.WriteToUDPAddrPort(pkt, addr)
}

// sendStatelessReset answers a short-header packet for an unknown
// connection (RFC 9000, Section 10.3): random bytes that look like a
// short-header packet, ending with the reset token of its connection id.
// It is always shorter than the packet that caused it, so two endpoints
// cannot make each other loop.
func (e *Endpoint) sendStatelessReset(b []byte, addr netip.AddrPort) {
	if e.config == nil || len(b) <= 21+1 {
		return
	}
	n := min(len(b)-1, 43)
	pkt := make([]byte, n)
	rand.Read(pkt[:n-16])
	pkt[0] = 0x40 | pkt[0]&0x3f
	t := resetToken(e.resetKey, b[1:1+connIDLen])
	copy(pkt[n-16:], t[:])
	e.conn.WriteToUDPAddrPort(pkt, addr)
}

// String describes the endpoint, for logs.
func (e *Endpoint) String() string {
	return fmt.Sprintf("quic endpoint %v", e.LocalAddr())
}
