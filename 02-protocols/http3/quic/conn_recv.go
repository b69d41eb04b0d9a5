package quic

import (
	"bytes"
	"crypto/hmac"
	"time"
)

// ourMaxAckDelay is the max_ack_delay this endpoint declares (the
// default, 25 ms): how long it may hold an acknowledgment.
const ourMaxAckDelay = 25 * time.Millisecond

// handleDatagram processes one received datagram: each coalesced packet
// in turn (RFC 9000, Section 12.2).
func (c *Conn) handleDatagram(d datagram) {
	defer c.ep.putBuf(d.buf)
	if c.state == stateDraining || c.state == stateClosed {
		return
	}
	now := time.Now()
	b := d.b
	size := len(b)
	c.dgRecv++
	c.stats.BytesReceived += uint64(size)
	if d.addr == c.path.addr {
		c.path.recvBytes += uint64(size)
	}
	if c.state == stateClosing {
		// Answer with CONNECTION_CLOSE again, ever more rarely
		// (Section 10.2.1).
		c.closeRecv++
		if c.closeRecv&(c.closeRecv-1) == 0 {
			c.closeSent = 0
		}
		return
	}
	// A stateless reset looks like a short-header packet ending with a
	// token: keep the tail before decryption overwrites it.
	var tail [16]byte
	if len(b) >= 21 {
		copy(tail[:], b[len(b)-16:])
	}
	var firstDCID []byte
	processed := false
	for len(b) > 0 {
		h, err := parseHeader(b, connIDLen)
		if err != nil {
			break // the rest of the datagram cannot be parsed
		}
		p := b[:h.end]
		b = b[h.end:]
		if firstDCID == nil {
			firstDCID = h.dcid
		} else if !bytes.Equal(h.dcid, firstDCID) {
			continue // coalesced packets must share the connection id
		}
		if c.handlePacket(h, p, d, size, now) {
			processed = true
		}
		if c.state != stateActive {
			return
		}
	}
	if !processed && len(d.b) >= 21 && d.b[0]&0x80 == 0 {
		if c.isStatelessReset(tail) {
			c.drainLocked(ErrStatelessReset)
			c.closeEnd = now
			return
		}
	}
	c.processHeld(now)
}

// isStatelessReset compares a datagram's last 16 bytes with the peer's
// reset tokens (RFC 9000, Section 10.3.1).
func (c *Conn) isStatelessReset(tail [16]byte) bool {
	for _, p := range c.cids.peer {
		if p.hasToken && hmac.Equal(p.token[:], tail[:]) {
			return true
		}
	}
	return false
}

// processHeld retries packets that arrived before their keys, and
// forgets those whose keys will never come.
func (c *Conn) processHeld(now time.Time) {
	for i := 0; i < len(c.held); i++ {
		hp := c.held[i]
		h, err := parseHeader(hp.b, connIDLen)
		hopeless := err != nil ||
			h.typ == PacketHandshake && c.spaces[spaceHandshake].discarded ||
			h.typ == Packet0RTT && c.handshakeComplete && c.zeroRTTOpen == nil
		if hopeless {
			c.held = append(c.held[:i], c.held[i+1:]...)
			i--
			continue
		}
		if c.openKeysFor(h.typ) == nil {
			continue
		}
		c.held = append(c.held[:i], c.held[i+1:]...)
		i--
		c.handlePacket(h, hp.b, datagram{addr: hp.addr}, len(hp.b), now)
		if c.state != stateActive {
			return
		}
	}
}

// openKeysFor returns the keys that remove header protection from a
// packet type, or nil if they are not (or no longer) available.
func (c *Conn) openKeysFor(t PacketType) *keys {
	switch t {
	case PacketInitial:
		return c.spaces[spaceInitial].open
	case PacketHandshake:
		return c.spaces[spaceHandshake].open
	case Packet0RTT:
		if !c.isServer {
			return nil
		}
		return c.zeroRTTOpen
	case Packet1RTT:
		return c.app.open
	}
	return nil
}

// handlePacket removes protection from one packet and processes its
// frames. It reports whether the packet was authenticated.
func (c *Conn) handlePacket(h header, p []byte, d datagram, dgSize int,
	now time.Time) bool {
	switch h.typ {
	case PacketVersionNegotiation:
		c.onVersionNegotiation(h)
		return false
	case PacketRetry:
		return c.onRetry(h, p)
	}
	if !c.isServer && h.typ != Packet1RTT && c.gotInitial &&
		!bytes.Equal(h.scid, c.peerSCID) {
		return false // Section 7.2: the server's id cannot change
	}
	if c.isServer && h.typ == PacketInitial && dgSize < MinInitialDatagram {
		return false // Section 14.1: a client pads every Initial datagram
	}
	if !c.isServer && h.typ == PacketInitial && len(h.token) > 0 {
		return false // Section 17.2.2: a server's Initial has no token
	}
	k := c.openKeysFor(h.typ)
	if k == nil {
		c.hold(h, p, d)
		return false
	}
	sp := h.typ.space()
	s := &c.spaces[sp]
	pnLen, trunc, err := k.unprotectHeader(p, h.pnOffset)
	if err != nil {
		return false
	}
	pn := decodePacketNumber(s.largestRecv, trunc, uint(8*pnLen))
	nextPhase := false
	if h.typ == Packet1RTT {
		k, nextPhase = c.app.openKeys(p[0]&0x04 != 0, pn, now)
		if k == nil {
			return false
		}
	}
	payload, err := k.open(p, h.pnOffset+pnLen, pn)
	if err != nil {
		return false // forged or corrupted: drop silently (Section 12.1)
	}
	// The reserved bits must be zero once protection is removed
	// (Sections 17.2 and 17.3.1).
	if h.typ == Packet1RTT && p[0]&0x18 != 0 || h.typ != Packet1RTT && p[0]&0x0c != 0 {
		c.closeLocked(errorf(ProtocolViolation, "reserved bits set"), false)
		return true
	}
	if nextPhase {
		if err := c.app.rotate(now, c.rec.pto(c, spaceApp)); err != nil {
			c.closeLocked(errorf(KeyUpdateError, "%v", err), false)
			return true
		}
		c.stats.KeyUpdates++
	}
	if h.typ == Packet1RTT && c.app.firstRecv < 0 {
		c.app.firstRecv = int64(pn)
	}
	if h.typ == Packet1RTT && c.zeroRTTOpen != nil && c.zeroRTTDrop.IsZero() {
		// A server keeps 0-RTT keys for reordered packets only for a
		// while after the first 1-RTT packet (RFC 9001, Section 4.9.3).
		c.zeroRTTDrop = now.Add(3 * c.rec.pto(c, spaceApp))
	}
	c.stats.PacketsReceived++
	c.trace(false, c.dgRecv, dgSize, h.typ, pn, len(p), payload)
	if s.isDuplicate(pn) {
		return true
	}
	if !c.isServer && h.typ == PacketInitial && !c.gotInitial {
		// The server's first Initial gives its connection id.
		c.gotInitial = true
		c.peerSCID = bytes.Clone(h.scid)
		c.cids.peer[0].id = c.peerSCID
	}
	ackEliciting, probing, err := c.handleFrames(h, sp, payload, d, now)
	if err != nil {
		c.closeLocked(err, false)
		return true
	}
	if c.state != stateActive {
		return true
	}
	s.onReceived(sp, pn, ackEliciting, now, ourMaxAckDelay)
	c.lastRecv = now
	if c.isServer && h.typ == PacketHandshake && !c.addrValidated {
		// A Handshake packet proves the client's address; the Initial
		// keys go (RFC 9001, Section 4.9.1).
		c.addrValidated = true
		c.path.validated = true
		c.discardSpace(spaceInitial)
	}
	if h.typ == Packet1RTT && int64(pn) == s.largestRecv {
		if c.isServer && d.addr.IsValid() && d.addr != c.path.addr &&
			!probing && c.handshakeConfirmed {
			c.migrate(d.addr, dgSize, now, !bytes.Equal(h.dcid, c.peerDCID))
		}
		c.peerDCID = append(c.peerDCID[:0], h.dcid...)
	}
	return true
}

// hold keeps a packet whose keys have not arrived yet, if there is room.
func (c *Conn) hold(h header, p []byte, d datagram) {
	if len(c.held) >= maxHeld || !d.addr.IsValid() {
		return
	}
	switch h.typ {
	case PacketInitial:
		return // Initial keys exist from the start, or are gone
	case PacketHandshake:
		if c.spaces[spaceHandshake].discarded {
			return
		}
	case Packet0RTT:
		if !c.isServer || c.handshakeComplete {
			return
		}
	}
	c.held = append(c.held, heldPacket{b: bytes.Clone(p), addr: d.addr})
}

// isProbing reports whether a frame type is a probing frame
// (RFC 9000, Section 9.1).
func isProbing(typ uint64) bool {
	switch typ {
	case frameTypePathChallenge, frameTypePathResponse,
		frameTypeNewConnectionID, frameTypePadding:
		return true
	}
	return false
}

// handleFrames processes a packet's frames and reports whether the
// packet was ack-eliciting and whether it held only probing frames.
func (c *Conn) handleFrames(h header, sp pnSpace, payload []byte, d datagram,
	now time.Time) (ackElicit, probing bool, err error) {
	if len(payload) == 0 {
		return false, false, errorf(ProtocolViolation, "packet without frames")
	}
	probing = true
	f := &c.frame
	for len(payload) > 0 {
		n, err := parseFrame(payload, f)
		if err != nil {
			return false, false, err
		}
		payload = payload[n:]
		if !allowedIn(f.typ, h.typ) {
			return false, false, frameError(ProtocolViolation, f.typ,
				"%s frame in a %v packet", frameName(f.typ), h.typ)
		}
		if ackEliciting(f.typ) {
			ackElicit = true
		}
		if !isProbing(f.typ) {
			probing = false
		}
		if err := c.handleFrame(h, sp, f, d, now); err != nil {
			return false, false, err
		}
		if c.state != stateActive {
			return ackElicit, probing, nil
		}
	}
	return ackElicit, probing, nil
}

// handleFrame applies one frame (RFC 9000, Section 19).
func (c *Conn) handleFrame(h header, sp pnSpace, f *frame, d datagram,
	now time.Time) error {
	switch {
	case f.typ == frameTypePadding, f.typ == frameTypePing:
	case f.typ == frameTypeAck, f.typ == frameTypeAckECN:
		return c.onAck(sp, f, now)
	case f.typ == frameTypeCrypto:
		return c.handleCrypto(sp, f)
	case f.typ == frameTypeNewToken:
		if c.isServer {
			return frameError(ProtocolViolation, f.typ,
				"NEW_TOKEN from a client")
		}
		// Tokens for future connections are not used by this engine.
	case isStreamFrame(f.typ):
		s, err := c.streams.forFrame(f.streamID, f.typ, true)
		if err != nil || s == nil {
			return err
		}
		return s.onData(f, h.typ == Packet0RTT)
	case f.typ == frameTypeResetStream:
		s, err := c.streams.forFrame(f.streamID, f.typ, true)
		if err != nil || s == nil {
			return err
		}
		return s.onReset(f)
	case f.typ == frameTypeStopSending:
		s, err := c.streams.forFrame(f.streamID, f.typ, false)
		if err != nil || s == nil {
			return err
		}
		s.onStopSending(f)
	case f.typ == frameTypeMaxData:
		if f.value > c.flow.sendMax {
			c.flow.sendMax = f.value
			for _, s := range c.streams.m {
				if s.out.pending() {
					c.streams.queueSend(s)
				}
			}
		}
	case f.typ == frameTypeMaxStreamData:
		s, err := c.streams.forFrame(f.streamID, f.typ, false)
		if err != nil || s == nil {
			return err
		}
		s.onMaxStreamData(f.value)
	case f.typ == frameTypeMaxStreamsBidi:
		c.streams.onMaxStreams(false, f.value)
	case f.typ == frameTypeMaxStreamsUni:
		c.streams.onMaxStreams(true, f.value)
	case f.typ == frameTypeStreamDataBlocked:
		_, err := c.streams.forFrame(f.streamID, f.typ, true)
		return err
	case f.typ == frameTypeDataBlocked,
		f.typ == frameTypeStreamsBlockedBidi, f.typ == frameTypeStreamsBlockedUni:
		// Informational: the peer wants more credit. Credit is given as
		// the application reads.
	case f.typ == frameTypeNewConnectionID:
		return c.onNewConnectionID(f)
	case f.typ == frameTypeRetireConnectionID:
		return c.onRetireConnectionID(f, h.dcid)
	case f.typ == frameTypePathChallenge:
		if len(c.ctrl.pathResponses) < 4 {
			c.ctrl.pathResponses = append(c.ctrl.pathResponses,
				pathResponse{data: f.pathData, addr: d.addr})
		}
	case f.typ == frameTypePathResponse:
		c.onPathResponse(f.pathData)
	case f.typ == frameTypeConnCloseTransport:
		c.drainLocked(&TransportError{Code: TransportErrorCode(f.code),
			FrameType: f.frameType, Reason: string(f.data), Remote: true})
	case f.typ == frameTypeConnCloseApp:
		c.drainLocked(&ApplicationError{Code: f.code,
			Reason: string(f.data), Remote: true})
	case f.typ == frameTypeHandshakeDone:
		if c.isServer {
			return frameError(ProtocolViolation, f.typ,
				"HANDSHAKE_DONE from a client")
		}
		c.confirmHandshake()
	}
	return nil
}

// onVersionNegotiation handles a Version Negotiation packet at the
// client (RFC 9000, Section 6.2): if it does not list version 1 and
// echoes our connection ids, no version is common and the attempt ends.
func (c *Conn) onVersionNegotiation(h header) {
	if c.isServer || c.gotInitial || c.gotRetry {
		return
	}
	if !bytes.Equal(h.dcid, c.cids.local[0].id) ||
		!bytes.Equal(h.scid, c.originalDCID) {
		return
	}
	for _, v := range h.versions {
		if v == Version1 {
			return // a forged or corrupted packet: ignore it
		}
	}
	c.closeErr = ErrVersionNegotiation
	c.state = stateClosed
}

// onRetry handles a Retry packet at the client (RFC 9000, Section
// 17.2.5.2): check its integrity tag, then send the Initial again to
// the new connection id with the token.
func (c *Conn) onRetry(h header, p []byte) bool {
	// Section 17.2.5.2: at most one Retry, before any Initial, with a
	// token and a new connection id.
	if c.isServer || c.gotRetry || c.gotInitial || len(h.token) == 0 ||
		bytes.Equal(h.scid, c.originalDCID) {
		return false
	}
	tag := retryTag(c.originalDCID, p[:len(p)-16])
	if !hmac.Equal(tag, p[len(p)-16:]) {
		return false
	}
	c.gotRetry = true
	c.retrySCID = bytes.Clone(h.scid)
	c.token = bytes.Clone(h.token)
	c.cids.peer[0].id = c.retrySCID
	c.peerSCID = c.retrySCID
	s := &c.spaces[spaceInitial]
	s.seal, s.open = initialKeys(c.retrySCID, false)
	// Everything sent so far is gone: send the ClientHello again.
	for i := range s.sent {
		pk := &s.sent[i]
		if !pk.acked && !pk.lost {
			c.rec.cc.removeFromFlight(pk)
		}
		c.freeFrames(pk)
	}
	s.sent = s.sent[:0]
	s.ackElicitingInFlight = 0
	s.cryptoOut.next = s.cryptoOut.base
	s.cryptoOut.lost = nil
	c.declareZeroRTTLost(false)
	c.setLossTimer(time.Now())
	return true
}
