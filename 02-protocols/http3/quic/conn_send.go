package quic

import (
	"net/netip"
	"time"
)

// outDatagram is a datagram ready to be written.
type outDatagram struct {
	b    []byte
	addr netip.AddrPort
}

// builtPacket remembers where a packet sits in the datagram being built,
// so it can be padded and sealed once the datagram is complete.
type builtPacket struct {
	sp       pnSpace
	typ      PacketType
	k        *keys
	start    int // offset of the first header byte
	lenOff   int // long headers: offset of the Length field
	pnOffset int
	pnLen    int
	payEnd   int // end of the plaintext; the tag follows
	pkt      sentPacketExt
}

// maxPacketsPerDatagram is Initial, Handshake and 1-RTT (or 0-RTT).
const maxPacketsPerDatagram = 3

// flush builds the datagrams the connection may send now.
func (c *Conn) flush(now time.Time) []outDatagram {
	out := c.out[:0]
	switch c.state {
	case stateClosing:
		if c.closeSent == 0 {
			if d, ok := c.buildClose(now); ok {
				out = append(out, d)
			}
			c.closeSent++
			if c.ctrl.closeSentCh != nil && !isClosed(c.ctrl.closeSentCh) {
				close(c.ctrl.closeSentCh)
			}
		}
		c.out = out
		return out
	case stateActive:
	default:
		return out
	}
	c.maybeUpdateKeys(now)
	out = c.sendPathResponses(out, now)
	for len(out) < maxBatch {
		d, ok := c.buildDatagram(now)
		if !ok {
			break
		}
		out = append(out, d)
	}
	if len(out) < maxBatch && c.mtu.due(c) {
		if d, ok := c.buildMTUProbe(now); ok {
			out = append(out, d)
		}
	}
	c.out = out
	return out
}

// recycle returns written datagram buffers for reuse.
func (c *Conn) recycle(out []outDatagram) {
	for i := range out {
		c.putSendBuf(out[i].b)
		out[i] = outDatagram{}
	}
}

// spaceKeys returns the keys and packet type for sending in a space, or
// nil if the space cannot send now.
func (c *Conn) spaceKeys(sp pnSpace) (*keys, PacketType) {
	s := &c.spaces[sp]
	switch sp {
	case spaceInitial:
		return s.seal, PacketInitial
	case spaceHandshake:
		return s.seal, PacketHandshake
	}
	if c.app.seal != nil && (c.isServer || c.handshakeComplete) {
		return c.app.seal, Packet1RTT
	}
	if !c.isServer && c.zeroRTTSeal != nil {
		return c.zeroRTTSeal, Packet0RTT
	}
	return nil, Packet1RTT
}

// buildDatagram fills one datagram with a packet from each space that
// has something to send, coalesced (RFC 9000, Section 12.2).
func (c *Conn) buildDatagram(now time.Time) (outDatagram, bool) {
	size := c.rec.cc.mds
	if !c.path.validated {
		// Anti-amplification: at most three times what was received.
		budget := int64(3*c.path.recvBytes) - int64(c.path.sentBytes)
		if budget < 64 {
			return outDatagram{}, false
		}
		size = min(size, int(budget))
	}
	// Ack-eliciting data needs room in the congestion window and a
	// pacing budget; probes go regardless.
	ccOK := c.rec.cc.canSend(size)
	if ccOK {
		rate := pacingRate(c.rec.cc.window, c.rec.rtt.smoothed)
		c.rec.pacer.refill(now, rate, initialWindow(c.rec.cc.mds))
		if w := c.rec.pacer.wait(size, rate); w > 0 {
			ccOK = false
			c.rec.pacerWake = now.Add(w)
		} else {
			c.rec.pacerWake = time.Time{}
		}
	}
	buf := c.getSendBuf()
	var pkts [maxPacketsPerDatagram]builtPacket
	n := 0
	padTo := 0
	for sp := spaceInitial; sp < numSpaces; sp++ {
		k, typ := c.spaceKeys(sp)
		if k == nil || c.spaces[sp].discarded {
			continue
		}
		var ok bool
		var bp builtPacket
		buf, bp, ok = c.buildPacket(buf, sp, typ, k, size, ccOK, now)
		if !ok {
			continue
		}
		pkts[n] = bp
		n++
		if typ == PacketInitial && (!c.isServer || bp.pkt.ackEliciting) {
			padTo = MinInitialDatagram
		}
		if bp.pkt.hasPathFrame {
			padTo = MinInitialDatagram
		}
	}
	if n == 0 {
		c.putSendBuf(buf)
		return outDatagram{}, false
	}
	// Pad the last packet so that the datagram reaches padTo.
	if padTo > len(buf) {
		last := &pkts[n-1]
		pad := min(padTo, size) - len(buf)
		if pad > 0 {
			buf = append(buf, make([]byte, pad)...)
			last.payEnd += pad
			last.pkt.inFlight = true
		}
	}
	c.dgSent++
	addr := c.path.addr
	for i := 0; i < n; i++ {
		c.sealPacket(buf, &pkts[i], len(buf), now)
	}
	c.path.sentBytes += uint64(len(buf))
	c.stats.BytesSent += uint64(len(buf))
	if !c.isServer && c.spaces[spaceHandshake].seal != nil {
		for i := 0; i < n; i++ {
			if pkts[i].typ == PacketHandshake {
				// The client's first Handshake packet ends the Initial
				// space (RFC 9001, Section 4.9.1).
				c.discardSpace(spaceInitial)
			}
		}
	}
	return outDatagram{b: buf, addr: addr}, true
}

// sealPacket sets the Length field, traces the packet, protects it and
// records it for loss recovery.
func (c *Conn) sealPacket(buf []byte, bp *builtPacket, dgSize int, now time.Time) {
	end := bp.payEnd + aeadTagLen
	if bp.typ != Packet1RTT {
		setLength(buf, bp.lenOff, end-bp.pnOffset)
	}
	payload := buf[bp.pnOffset+bp.pnLen : bp.payEnd]
	c.trace(true, c.dgSent, dgSize, bp.typ, bp.pkt.pn, end-bp.start, payload)
	bp.k.protect(buf[bp.start:bp.payEnd], bp.pnOffset-bp.start, bp.pnLen,
		bp.pkt.pn)
	bp.pkt.size = end - bp.start
	bp.pkt.sent = now
	if bp.typ == Packet1RTT {
		c.app.onSent(bp.pkt.pn)
	}
	c.stats.PacketsSent++
	c.onPacketSent(bp.sp, bp.pkt.sentPacket)
}

// packetBuilder accumulates the frames of one packet.
type packetBuilder struct {
	b     []byte
	limit int // end of the room for frames
	pkt   sentPacketExt
}

// sentPacketExt is a sentPacket plus what the builder needs to know.
type sentPacketExt struct {
	sentPacket
	hasPathFrame bool
}

func (p *packetBuilder) room() int { return p.limit - len(p.b) }

func (p *packetBuilder) record(f sentFrame) {
	p.pkt.frames = append(p.pkt.frames, f)
	p.pkt.ackEliciting = true
	p.pkt.inFlight = true
}

// buildPacket appends one packet's header and frames to buf. size is the
// datagram's size limit.
func (c *Conn) buildPacket(buf []byte, sp pnSpace, typ PacketType, k *keys,
	size int, ccOK bool, now time.Time) ([]byte, builtPacket, bool) {
	s := &c.spaces[sp]
	bp := builtPacket{sp: sp, typ: typ, k: k, start: len(buf)}
	pn := s.nextPN
	bp.pnLen = pnLenFor(pn, s.largestAcked)
	dcid := c.dstID()
	if typ == Packet1RTT {
		buf = appendShortHeader(buf, dcid, c.app.phase, bp.pnLen)
	} else {
		var token []byte
		if typ == PacketInitial && !c.isServer {
			token = c.token
		}
		buf, bp.lenOff = appendLongHeader(buf, typ, dcid,
			c.cids.local[0].id, token, bp.pnLen)
	}
	bp.pnOffset = len(buf)
	buf = appendPacketNumber(buf, pn, bp.pnLen)
	payStart := len(buf)
	limit := size - aeadTagLen
	if limit-payStart < 8 {
		return buf[:bp.start], bp, false
	}
	pb := packetBuilder{b: buf, limit: limit}
	pb.pkt.pn = pn
	pb.pkt.frames = c.rec.frameSlice()
	pb.pkt.zeroRTT = typ == Packet0RTT

	// An ACK goes first when one is due, or rides along with other
	// frames; it is not ack-eliciting and needs no window.
	ackDue := typ != Packet0RTT && s.wantAck(now)
	ackPos := -1
	if typ != Packet0RTT && s.ackUnsent && len(s.recvd) > 0 {
		ackPos = len(pb.b)
		pb.b = c.appendAck(pb.b, s, now)
		if len(pb.b) > pb.limit {
			pb.b = pb.b[:ackPos]
			ackPos = -1
		}
	}
	probing := s.probes > 0
	if ccOK || probing {
		c.addFrames(&pb, sp, typ, now)
		if probing && !pb.pkt.ackEliciting && pb.room() > 0 {
			pb.b = append(pb.b, frameTypePing)
			pb.record(sentFrame{kind: sentPing})
		}
	}
	if !pb.pkt.ackEliciting && !ackDue {
		// Nothing worth a packet: an ACK alone waits for its deadline.
		c.rec.freeFrames = append(c.rec.freeFrames, pb.pkt.frames)
		return buf[:bp.start], bp, false
	}
	if ackPos >= 0 {
		s.onAckSent()
	}
	if probing && pb.pkt.ackEliciting {
		s.probes--
	}
	// Header protection samples 16 bytes starting 4 bytes after the
	// packet number: make sure the payload is long enough.
	if need := 4 - bp.pnLen - (len(pb.b) - payStart); need > 0 {
		pb.b = append(pb.b, make([]byte, need)...)
	}
	bp.payEnd = len(pb.b)
	// Room for the tag, sealed in place later.
	pb.b = append(pb.b, make([]byte, aeadTagLen)...)
	s.nextPN++
	bp.pkt = pb.pkt
	return pb.b, bp, true
}

// appendAck appends an ACK frame for the space's received packets.
func (c *Conn) appendAck(b []byte, s *space, now time.Time) []byte {
	var scratch [maxAckRangesKept]ackRange
	ranges := s.ackRanges(scratch[:0])
	delay := uint64(now.Sub(s.largestTime).Microseconds()) >> 3
	return appendAck(b, ranges, delay, maxAckRangesKept)
}

// addFrames adds the ack-eliciting frames a space has waiting: CRYPTO
// data, then in the application space the control frames and stream
// data.
func (c *Conn) addFrames(pb *packetBuilder, sp pnSpace, typ PacketType, now time.Time) {
	s := &c.spaces[sp]
	if typ != Packet0RTT {
		c.addCrypto(pb, s)
	}
	if sp != spaceApp {
		return
	}
	c.addControl(pb, typ, now)
	c.addStreamControl(pb, typ)
	c.addStreamData(pb)
	if c.ctrl.ping && pb.room() > 0 {
		c.ctrl.ping = false
		pb.b = append(pb.b, frameTypePing)
		pb.record(sentFrame{kind: sentPing})
	}
}

func (c *Conn) addCrypto(pb *packetBuilder, s *space) {
	for s.cryptoOut.pending() && pb.room() > 16 {
		// Type, offset and a two-byte length.
		hdr := 1 + VarintLen(s.cryptoOut.next) + 2
		if len(s.cryptoOut.lost) > 0 {
			hdr = 1 + VarintLen(s.cryptoOut.lost[0].start) + 2
		}
		off, n, _ := s.cryptoOut.nextRange(pb.room()-hdr, MaxVarint)
		if n == 0 {
			return
		}
		pb.b = appendCryptoHeader(pb.b, off, n)
		pb.b = append(pb.b, s.cryptoOut.bytes(off, n)...)
		pb.record(sentFrame{kind: sentCrypto, off: off, n: uint64(n)})
	}
}

// addControl adds connection-level control frames.
func (c *Conn) addControl(pb *packetBuilder, typ PacketType, now time.Time) {
	oneRTT := typ == Packet1RTT
	if oneRTT && c.ctrl.handshakeDone && pb.room() >= 1 {
		c.ctrl.handshakeDone = false
		pb.b = append(pb.b, frameTypeHandshakeDone)
		pb.record(sentFrame{kind: sentHandshakeDone})
	}
	if oneRTT {
		for len(c.ctrl.pathResponses) > 0 && pb.room() >= 9 {
			r := c.ctrl.pathResponses[0]
			if r.addr != c.path.addr {
				break
			}
			c.ctrl.pathResponses = c.ctrl.pathResponses[1:]
			pb.b = appendPath(pb.b, frameTypePathResponse, r.data)
			pb.pkt.ackEliciting, pb.pkt.inFlight = true, true
			pb.pkt.hasPathFrame = true
		}
		if c.path.sendChallenge && pb.room() >= 9 {
			pb.b = appendPath(pb.b, frameTypePathChallenge, c.path.challenge)
			pb.pkt.ackEliciting, pb.pkt.inFlight = true, true
			pb.pkt.hasPathFrame = true
			c.onChallengeSent(now)
		}
	}
	if c.flow.maxDataPending && pb.room() >= 9 {
		c.flow.maxDataPending = false
		pb.b = appendFrame1(pb.b, frameTypeMaxData, c.flow.recvMax)
		pb.record(sentFrame{kind: sentMaxData})
	}
	ss := &c.streams
	if ss.maxStreamsPendingBidi && pb.room() >= 9 {
		ss.maxStreamsPendingBidi = false
		pb.b = appendFrame1(pb.b, frameTypeMaxStreamsBidi, ss.maxBidi)
		pb.record(sentFrame{kind: sentMaxStreams})
	}
	if ss.maxStreamsPendingUni && pb.room() >= 9 {
		ss.maxStreamsPendingUni = false
		pb.b = appendFrame1(pb.b, frameTypeMaxStreamsUni, ss.maxUni)
		pb.record(sentFrame{kind: sentMaxStreams, n: 1})
	}
	if ss.sendBlockedBidi && pb.room() >= 9 {
		ss.sendBlockedBidi = false
		ss.blockedBidi = ss.peerMaxBidi
		pb.b = appendFrame1(pb.b, frameTypeStreamsBlockedBidi, ss.peerMaxBidi)
		pb.record(sentFrame{})
	}
	if ss.sendBlockedUni && pb.room() >= 9 {
		ss.sendBlockedUni = false
		ss.blockedUni = ss.peerMaxUni
		pb.b = appendFrame1(pb.b, frameTypeStreamsBlockedUni, ss.peerMaxUni)
		pb.record(sentFrame{})
	}
	if c.flow.blockedSend && pb.room() >= 9 {
		c.flow.blockedSend = false
		pb.b = appendFrame1(pb.b, frameTypeDataBlocked, c.flow.sendMax)
		pb.record(sentFrame{})
	}
	if !oneRTT {
		return
	}
	for i := range c.cids.local {
		l := &c.cids.local[i]
		if !l.pending || pb.room() < 1+8+8+1+MaxConnIDLen+16 {
			continue
		}
		l.pending = false
		pb.b = appendNewConnectionID(pb.b, l.seq, 0, l.id, l.token)
		pb.record(sentFrame{kind: sentNewConnID, id: l.seq})
	}
	for len(c.cids.retire) > 0 && pb.room() >= 9 {
		seq := c.cids.retire[0]
		c.cids.retire = c.cids.retire[1:]
		pb.b = appendFrame1(pb.b, frameTypeRetireConnectionID, seq)
		pb.record(sentFrame{kind: sentRetireConnID, id: seq})
	}
}

// addStreamControl adds per-stream control frames: RESET_STREAM,
// STOP_SENDING, MAX_STREAM_DATA, STREAM_DATA_BLOCKED.
func (c *Conn) addStreamControl(pb *packetBuilder, typ PacketType) {
	ss := &c.streams
	kept := ss.ctrlq[:0]
	for _, s := range ss.ctrlq {
		if pb.room() < 1+3*8 {
			kept = append(kept, s)
			continue
		}
		if s.resetPending {
			s.resetPending = false
			s.resetSent = true
			pb.b = appendResetStream(pb.b, s.id, s.resetCode, s.out.next)
			pb.record(sentFrame{kind: sentResetStream, id: s.id})
		}
		if s.stopPending && typ == Packet1RTT || s.stopPending && typ == Packet0RTT {
			s.stopPending = false
			pb.b = appendFrame2(pb.b, frameTypeStopSending, s.id, s.stopCode)
			pb.record(sentFrame{kind: sentStopSending, id: s.id})
		}
		if s.maxPending {
			s.maxPending = false
			pb.b = appendFrame2(pb.b, frameTypeMaxStreamData, s.id, s.inMax)
			pb.record(sentFrame{kind: sentMaxStreamData, id: s.id})
		}
		if s.blockedSend {
			s.blockedSend = false
			pb.b = appendFrame2(pb.b, frameTypeStreamDataBlocked, s.id, s.outMax)
			pb.record(sentFrame{})
		}
		s.ctrlQueued = false
		c.streams.maybeRemove(s)
	}
	ss.ctrlq = kept
}

// addStreamData fills the packet with stream data, taking one frame per
// stream in turn so that streams share the connection fairly.
func (c *Conn) addStreamData(pb *packetBuilder) {
	ss := &c.streams
	for len(ss.sendq) > 0 && pb.room() > streamFrameOverhead+8 {
		s := ss.sendq[0]
		if s.resetPending || s.resetSent || s.removed {
			ss.popSend()
			continue
		}
		newLimit := min(s.outMax, s.out.next+c.flow.allowance())
		hdr := 1 + VarintLen(s.id) + VarintLen(s.out.next) + 2
		off, n, retx := s.out.nextRange(pb.room()-hdr-1, newLimit)
		allSent := s.out.next == s.out.end() && len(s.out.lost) == 0
		fin := s.finWanted && !s.finSent && allSent && off+uint64(n) == s.out.end()
		if n == 0 && !fin {
			// Blocked by flow control, or nothing to send.
			if s.out.next < s.out.end() {
				if s.out.next >= s.outMax && s.blockedAt != s.outMax {
					s.blockedAt = s.outMax
					s.blockedSend = true
					ss.queueCtrl(s)
				} else if c.flow.allowance() == 0 &&
					c.flow.blockedAt != c.flow.sendMax {
					c.flow.blockedAt = c.flow.sendMax
					c.flow.blockedSend = true
				}
			}
			ss.popSend()
			continue
		}
		if !retx {
			c.flow.sent += uint64(n)
		}
		pb.b = appendStreamHeader(pb.b, s.id, off, n, fin, false)
		pb.b = append(pb.b, s.out.bytes(off, n)...)
		if fin {
			s.finSent = true
		}
		pb.record(sentFrame{kind: sentStream, id: s.id, off: off,
			n: uint64(n), fin: fin})
		if pb.pkt.zeroRTT {
			s.zeroRTTSent = true
		}
		// Move on to the next stream; come back if there is more.
		ss.popSend()
		if s.out.pending() || s.finWanted && !s.finSent {
			ss.queueSend(s)
		}
	}
}

// popSend takes the first stream off the send queue.
func (ss *streamSet) popSend() {
	ss.sendq[0].queued = false
	n := copy(ss.sendq, ss.sendq[1:])
	ss.sendq[n] = nil
	ss.sendq = ss.sendq[:n]
}

// sendPathResponses answers PATH_CHALLENGE frames that came from another
// address than the current path, each in its own padded datagram to
// where it came from (RFC 9000, Section 8.2.2).
func (c *Conn) sendPathResponses(out []outDatagram, now time.Time) []outDatagram {
	k, typ := c.spaceKeys(spaceApp)
	if k == nil || typ != Packet1RTT {
		return out
	}
	kept := c.ctrl.pathResponses[:0]
	for _, r := range c.ctrl.pathResponses {
		if r.addr == c.path.addr {
			kept = append(kept, r)
			continue
		}
		frame := appendPath(nil, frameTypePathResponse, r.data)
		out = append(out, c.buildAlone(k, frame, MinInitialDatagram, false,
			r.addr, now))
	}
	c.ctrl.pathResponses = kept
	return out
}

// buildMTUProbe sends one PING padded to the target datagram size.
func (c *Conn) buildMTUProbe(now time.Time) (outDatagram, bool) {
	size := c.mtu.target
	if !c.rec.cc.canSend(size) {
		return outDatagram{}, false
	}
	k, typ := c.spaceKeys(spaceApp)
	if k == nil || typ != Packet1RTT {
		return outDatagram{}, false
	}
	c.mtu.state = 1
	return c.buildAlone(k, []byte{frameTypePing}, size, true, c.path.addr,
		now), true
}

// buildAlone builds a datagram holding one ack-eliciting 1-RTT packet
// with frames, padded to size, for addr.
func (c *Conn) buildAlone(k *keys, frames []byte, size int, probe bool,
	addr netip.AddrPort, now time.Time) outDatagram {
	buf := c.getSendBuf()
	s := &c.spaces[spaceApp]
	bp := builtPacket{sp: spaceApp, typ: Packet1RTT, k: k}
	pn := s.nextPN
	bp.pnLen = pnLenFor(pn, s.largestAcked)
	buf = appendShortHeader(buf, c.dstID(), c.app.phase, bp.pnLen)
	bp.pnOffset = len(buf)
	buf = appendPacketNumber(buf, pn, bp.pnLen)
	buf = append(buf, frames...)
	buf = append(buf, make([]byte, max(size-aeadTagLen-len(buf), 0))...)
	bp.payEnd = len(buf)
	buf = append(buf, make([]byte, aeadTagLen)...)
	s.nextPN++
	bp.pkt.sentPacket = sentPacket{pn: pn, ackEliciting: true,
		inFlight: true, mtuProbe: probe}
	c.dgSent++
	c.sealPacket(buf, &bp, len(buf), now)
	c.stats.BytesSent += uint64(len(buf))
	return outDatagram{b: buf, addr: addr}
}

// buildClose builds the datagram carrying CONNECTION_CLOSE, in every
// space the peer may be able to read (RFC 9000, Section 10.2.3).
func (c *Conn) buildClose(now time.Time) (outDatagram, bool) {
	buf := c.getSendBuf()
	n := 0
	var pkts [maxPacketsPerDatagram]builtPacket
	padTo := 0
	for sp := spaceInitial; sp < numSpaces; sp++ {
		k, typ := c.spaceKeys(sp)
		if k == nil || c.spaces[sp].discarded || typ == Packet0RTT {
			continue
		}
		if sp == spaceApp && !c.isServer && !c.handshakeComplete {
			continue
		}
		s := &c.spaces[sp]
		bp := builtPacket{sp: sp, typ: typ, k: k, start: len(buf)}
		pn := s.nextPN
		bp.pnLen = pnLenFor(pn, s.largestAcked)
		if typ == Packet1RTT {
			buf = appendShortHeader(buf, c.dstID(), c.app.phase, bp.pnLen)
		} else {
			var token []byte
			if typ == PacketInitial && !c.isServer {
				token = c.token
				padTo = MinInitialDatagram
			}
			buf, bp.lenOff = appendLongHeader(buf, typ, c.dstID(),
				c.cids.local[0].id, token, bp.pnLen)
		}
		bp.pnOffset = len(buf)
		buf = appendPacketNumber(buf, pn, bp.pnLen)
		frame := c.closeWire
		if c.closeApp && typ != Packet1RTT {
			// The application's code and reason stay private until
			// 1-RTT: send APPLICATION_ERROR instead.
			frame = appendConnectionClose(nil, false,
				uint64(ApplicationErrorCode), 0, "")
		}
		buf = append(buf, frame...)
		bp.payEnd = len(buf)
		buf = append(buf, make([]byte, aeadTagLen)...)
		s.nextPN++
		bp.pkt.pn = pn
		pkts[n] = bp
		n++
	}
	if n == 0 {
		c.putSendBuf(buf)
		return outDatagram{}, false
	}
	if padTo > len(buf) {
		pad := padTo - len(buf)
		buf = append(buf, make([]byte, pad)...)
		pkts[n-1].payEnd += pad
	}
	c.dgSent++
	for i := 0; i < n; i++ {
		c.sealPacket(buf, &pkts[i], len(buf), now)
	}
	return outDatagram{b: buf, addr: c.path.addr}, true
}
