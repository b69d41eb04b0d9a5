package quic

import "time"

// Loss detection constants (RFC 9002, Section 6 and Appendix A.2).
const (
	packetThreshold = 3
	granularity     = time.Millisecond
	initialRTT      = 333 * time.Millisecond
	// persistentCongestionThreshold is in PTOs (Section 7.6.1).
	persistentCongestionThreshold = 3
)

// sentKind says what a sent frame was, so that it can be sent again (or
// its effect undone) if its packet is lost: QUIC retransmits frames, not
// packets (RFC 9000, Section 13.3).
type sentKind uint8

const (
	sentStream sentKind = iota + 1
	sentCrypto
	sentResetStream
	sentStopSending
	sentMaxData
	sentMaxStreamData
	sentMaxStreams
	sentNewConnID
	sentRetireConnID
	sentHandshakeDone
	sentPing
)

// sentFrame records one retransmittable frame of a sent packet.
type sentFrame struct {
	kind sentKind
	id   uint64 // stream id or connection id sequence number
	off  uint64
	n    uint64 // length; for MAX_STREAMS, 1 for uni
	fin  bool
}

// sentPacket is what loss recovery remembers of a packet it sent.
type sentPacket struct {
	pn           uint64
	sent         time.Time
	size         int
	ackEliciting bool
	inFlight     bool
	mtuProbe     bool
	zeroRTT      bool
	acked, lost  bool
	frames       []sentFrame
}

// rttStats is the RTT estimator of RFC 9002, Section 5.
type rttStats struct {
	latest, smoothed, rttvar, min time.Duration
	hasSample                     bool
	firstSample                   time.Time
}

func (r *rttStats) init() {
	r.smoothed = initialRTT
	r.rttvar = initialRTT / 2
}

// update takes a new sample; ackDelay is what the peer reported, already
// limited to max_ack_delay once the handshake is confirmed.
func (r *rttStats) update(latest, ackDelay time.Duration, now time.Time) {
	r.latest = latest
	if !r.hasSample {
		r.hasSample = true
		r.firstSample = now
		r.min = latest
		r.smoothed = latest
		r.rttvar = latest / 2
		return
	}
	r.min = min(r.min, latest)
	adjusted := latest
	if latest >= r.min+ackDelay {
		adjusted = latest - ackDelay
	}
	diff := r.smoothed - adjusted
	if diff < 0 {
		diff = -diff
	}
	r.rttvar = (3*r.rttvar + diff) / 4
	r.smoothed = (7*r.smoothed + adjusted) / 8
}

// recovery is the connection's loss detection and congestion state.
type recovery struct {
	rtt                  rttStats
	ptoCount             int
	cc                   newReno
	pacer                pacer
	pacerWake            time.Time
	lossTimer            time.Time
	lastAckElicitingSent time.Time
	freeFrames           [][]sentFrame
	ackedIdx             []int // scratch for onAck
}

func (r *recovery) init(mds int) {
	r.rtt.init()
	r.cc = newNewReno(mds)
}

// pto returns the probe timeout for a space without backoff; for the
// application space it includes the peer's max_ack_delay.
func (r *recovery) pto(c *Conn, sp pnSpace) time.Duration {
	d := r.rtt.smoothed + max(4*r.rtt.rttvar, granularity)
	if sp == spaceApp {
		d += c.peerMaxAckDelay()
	}
	return d
}

func (c *Conn) peerMaxAckDelay() time.Duration {
	if c.havePeerParams {
		return c.peerParams.maxAckDelay
	}
	return 25 * time.Millisecond
}

// frameSlice returns an empty frame list, reusing a freed one.
func (r *recovery) frameSlice() []sentFrame {
	if n := len(r.freeFrames); n > 0 {
		f := r.freeFrames[n-1]
		r.freeFrames = r.freeFrames[:n-1]
		return f[:0]
	}
	return make([]sentFrame, 0, 4)
}

// onPacketSent records a packet for loss recovery (Appendix A.5).
func (c *Conn) onPacketSent(sp pnSpace, p sentPacket) {
	s := &c.spaces[sp]
	s.sent = append(s.sent, p)
	if p.inFlight {
		if p.ackEliciting {
			s.lastAckElicitingSent = p.sent
			s.ackElicitingInFlight++
			c.rec.lastAckElicitingSent = p.sent
			if !c.lastAckSent.After(c.lastRecv) {
				c.lastAckSent = p.sent
			}
		}
		c.rec.cc.onSent(p.size)
	}
	c.setLossTimer(p.sent)
}

// onAck processes an ACK frame received in space sp (Appendix A.7).
func (c *Conn) onAck(sp pnSpace, f *frame, now time.Time) error {
	s := &c.spaces[sp]
	largest := f.ackRanges[0].largest
	if largest >= s.nextPN {
		return frameError(ProtocolViolation, f.typ,
			"ACK of packet %d, never sent", largest)
	}
	if int64(largest) > s.largestAcked {
		s.largestAcked = int64(largest)
	}
	// Walk the sent packets (ascending) against the ranges (descending).
	var newest *sentPacket
	ackElicitingAcked := false
	acked := c.rec.ackedIdx[:0]
	ri := len(f.ackRanges) - 1
	for i := range s.sent {
		p := &s.sent[i]
		for ri >= 0 && f.ackRanges[ri].largest < p.pn {
			ri--
		}
		if ri < 0 {
			break
		}
		if p.pn < f.ackRanges[ri].smallest || p.acked || p.lost {
			continue
		}
		p.acked = true
		acked = append(acked, i)
		if p.ackEliciting {
			ackElicitingAcked = true
		}
		if newest == nil || p.pn > newest.pn {
			newest = p
		}
	}
	c.rec.ackedIdx = acked
	if len(acked) == 0 {
		return nil
	}
	if newest.pn == largest && ackElicitingAcked {
		delay := time.Duration(f.ackDelay<<c.peerAckDelayExponent()) *
			time.Microsecond
		if sp != spaceApp {
			delay = 0
		} else if c.handshakeConfirmed {
			delay = min(delay, c.peerMaxAckDelay())
		}
		c.rec.rtt.update(now.Sub(newest.sent), delay, now)
	}
	c.detectLost(sp, now)
	// Process the acknowledged packets' frames, then drop them.
	for _, i := range acked {
		c.onPacketAcked(sp, &s.sent[i])
	}
	c.trimSent(sp)
	if c.peerCompletedAddressValidation() {
		c.rec.ptoCount = 0
	}
	c.setLossTimer(now)
	return nil
}

func (c *Conn) peerAckDelayExponent() uint64 {
	if c.havePeerParams {
		return c.peerParams.ackDelayExponent
	}
	return 3
}

// onPacketAcked applies an acknowledged packet: its frames arrived, and
// it leaves the congestion window.
func (c *Conn) onPacketAcked(sp pnSpace, p *sentPacket) {
	s := &c.spaces[sp]
	if p.inFlight {
		if p.ackEliciting {
			s.ackElicitingInFlight--
		}
		c.rec.cc.onAcked(p)
		p.inFlight = false
	}
	if p.mtuProbe {
		c.mtu.onAcked(c, p.size)
	}
	if sp == spaceApp {
		c.app.onAcked(p.pn)
		if !c.isServer && !c.handshakeConfirmed && !p.zeroRTT &&
			c.handshakeComplete {
			// An acknowledged 1-RTT packet confirms the handshake at the
			// client (RFC 9001, Section 4.1.2).
			c.confirmHandshake()
		}
	}
	for _, f := range p.frames {
		c.onFrameAcked(sp, f)
	}
	c.freeFrames(p)
}

func (c *Conn) freeFrames(p *sentPacket) {
	if p.frames != nil && len(c.rec.freeFrames) < 1024 {
		c.rec.freeFrames = append(c.rec.freeFrames, p.frames)
	}
	p.frames = nil
}

// trimSent drops acknowledged and lost packets from the front of the
// space's list.
func (c *Conn) trimSent(sp pnSpace) {
	s := &c.spaces[sp]
	i := 0
	for i < len(s.sent) && (s.sent[i].acked || s.sent[i].lost) {
		i++
	}
	if i == 0 {
		return
	}
	if i == len(s.sent) {
		s.sent = s.sent[:0]
		return
	}
	if i > len(s.sent)/2 {
		n := copy(s.sent, s.sent[i:])
		s.sent = s.sent[:n]
	} else {
		s.sent = s.sent[i:]
	}
}

// detectLost declares packets lost by packet or time threshold
// (Appendix A.10) and sends their frames again.
func (c *Conn) detectLost(sp pnSpace, now time.Time) {
	s := &c.spaces[sp]
	if s.largestAcked < 0 {
		return
	}
	s.lossTime = time.Time{}
	rtt := &c.rec.rtt
	delay := max(9*max(rtt.latest, rtt.smoothed)/8, granularity)
	lostBefore := now.Add(-delay)
	var lastLoss time.Time
	// Persistent congestion: a run of lost ack-eliciting packets with no
	// acknowledged packet between them, spanning the threshold.
	var runStart, runEnd time.Time
	persistent := false
	pcDuration := (rtt.smoothed + max(4*rtt.rttvar, granularity) +
		c.peerMaxAckDelay()) * persistentCongestionThreshold
	for i := range s.sent {
		p := &s.sent[i]
		if int64(p.pn) > s.largestAcked {
			break
		}
		if p.acked {
			runStart = time.Time{}
			continue
		}
		if p.lost {
			continue
		}
		if !p.sent.After(lostBefore) || uint64(s.largestAcked) >= p.pn+packetThreshold {
			p.lost = true
			c.stats.PacketsLost++
			if p.inFlight {
				if p.ackEliciting {
					s.ackElicitingInFlight--
				}
				c.rec.cc.removeFromFlight(p)
				if !p.mtuProbe {
					lastLoss = maxTime(lastLoss, p.sent)
				}
				p.inFlight = false
			}
			if p.mtuProbe {
				c.mtu.onLost()
			}
			if p.ackEliciting && !p.mtuProbe && rtt.hasSample &&
				p.sent.After(rtt.firstSample) {
				if runStart.IsZero() {
					runStart = p.sent
				}
				runEnd = p.sent
				if runEnd.Sub(runStart) > pcDuration {
					persistent = true
				}
			}
			for _, f := range p.frames {
				c.onFrameLost(sp, f)
			}
			c.freeFrames(p)
			continue
		}
		t := p.sent.Add(delay)
		if s.lossTime.IsZero() || t.Before(s.lossTime) {
			s.lossTime = t
		}
	}
	if !lastLoss.IsZero() {
		c.rec.cc.onCongestionEvent(lastLoss, now)
	}
	if persistent {
		c.rec.cc.onPersistentCongestion()
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// earliestLossTime is GetLossTimeAndSpace of Appendix A.8.
func (c *Conn) earliestLossTime() (time.Time, pnSpace) {
	var t time.Time
	sp := spaceInitial
	for i := range c.spaces {
		s := &c.spaces[i]
		if s.discarded || s.lossTime.IsZero() {
			continue
		}
		if t.IsZero() || s.lossTime.Before(t) {
			t, sp = s.lossTime, pnSpace(i)
		}
	}
	return t, sp
}

func (c *Conn) ackElicitingInFlight() bool {
	for i := range c.spaces {
		if !c.spaces[i].discarded && c.spaces[i].ackElicitingInFlight > 0 {
			return true
		}
	}
	return false
}

// peerCompletedAddressValidation: a server assumes the client validated
// its address; a client knows the server validated its own once a
// Handshake packet was acknowledged or the handshake confirmed.
func (c *Conn) peerCompletedAddressValidation() bool {
	if c.isServer {
		return true
	}
	return c.spaces[spaceHandshake].largestAcked >= 0 || c.handshakeConfirmed
}

// ptoTimeAndSpace is GetPtoTimeAndSpace of Appendix A.8.
func (c *Conn) ptoTimeAndSpace(now time.Time) (time.Time, pnSpace) {
	rtt := &c.rec.rtt
	backoff := time.Duration(1) << min(c.rec.ptoCount, 16)
	d := (rtt.smoothed + max(4*rtt.rttvar, granularity)) * backoff
	if !c.ackElicitingInFlight() {
		if c.spaces[spaceHandshake].seal != nil {
			return now.Add(d), spaceHandshake
		}
		return now.Add(d), spaceInitial
	}
	var t time.Time
	sp := spaceInitial
	for i := range c.spaces {
		s := &c.spaces[i]
		if s.discarded || s.ackElicitingInFlight == 0 {
			continue
		}
		dd := d
		if pnSpace(i) == spaceApp {
			if !c.handshakeConfirmed {
				break
			}
			dd += c.peerMaxAckDelay() * backoff
		}
		if pt := s.lastAckElicitingSent.Add(dd); t.IsZero() || pt.Before(t) {
			t, sp = pt, pnSpace(i)
		}
	}
	return t, sp
}

// setLossTimer is SetLossDetectionTimer of Appendix A.8.
func (c *Conn) setLossTimer(now time.Time) {
	if t, _ := c.earliestLossTime(); !t.IsZero() {
		c.rec.lossTimer = t
		return
	}
	if c.atAmplificationLimit() {
		c.rec.lossTimer = time.Time{}
		return
	}
	if !c.ackElicitingInFlight() && c.peerCompletedAddressValidation() {
		c.rec.lossTimer = time.Time{}
		return
	}
	c.rec.lossTimer, _ = c.ptoTimeAndSpace(now)
}

// onLossDetectionTimeout is OnLossDetectionTimeout of Appendix A.9.
func (c *Conn) onLossDetectionTimeout(now time.Time) {
	if t, sp := c.earliestLossTime(); !t.IsZero() {
		c.detectLost(sp, now)
		c.trimSent(sp)
		c.setLossTimer(now)
		return
	}
	if !c.ackElicitingInFlight() {
		// Anti-deadlock probe from the client: a Handshake packet
		// proves its address, a padded Initial earns more credit.
		if c.spaces[spaceHandshake].seal != nil {
			c.spaces[spaceHandshake].probes = 1
		} else if !c.spaces[spaceInitial].discarded {
			c.spaces[spaceInitial].probes = 1
		}
	} else {
		_, sp := c.ptoTimeAndSpace(now)
		c.probe(sp)
	}
	c.rec.ptoCount++
	c.setLossTimer(now)
}

// probe arms a space to send two ack-eliciting packets. Handshake data
// still unacknowledged is queued again so the probes carry it; in the
// application space, the oldest unacknowledged packet's frames are.
func (c *Conn) probe(sp pnSpace) {
	s := &c.spaces[sp]
	s.probes = 2
	if sp != spaceApp {
		if s.cryptoOut.next > s.cryptoOut.base {
			s.cryptoOut.loss(s.cryptoOut.base, s.cryptoOut.next)
		}
		return
	}
	for i := range s.sent {
		p := &s.sent[i]
		if p.acked || p.lost || !p.ackEliciting {
			continue
		}
		for _, f := range p.frames {
			c.onFrameLost(sp, f)
		}
		break
	}
}

// discardSpace drops the keys and recovery state of the Initial or
// Handshake space (RFC 9001, Section 4.9; RFC 9002, Appendix A.11).
func (c *Conn) discardSpace(sp pnSpace) {
	s := &c.spaces[sp]
	if s.discarded {
		return
	}
	s.discarded = true
	s.seal, s.open = nil, nil
	for i := range s.sent {
		p := &s.sent[i]
		if !p.acked && !p.lost {
			c.rec.cc.removeFromFlight(p)
		}
		c.freeFrames(p)
	}
	s.sent = nil
	s.ackElicitingInFlight = 0
	s.lastAckElicitingSent = time.Time{}
	s.lossTime = time.Time{}
	s.probes = 0
	s.ackEliciting = 0
	s.cryptoOut = sendBuffer{}
	s.cryptoIn = recvBuffer{}
	c.rec.ptoCount = 0
	c.setLossTimer(time.Now())
}

// onFrameAcked applies one acknowledged frame.
func (c *Conn) onFrameAcked(sp pnSpace, f sentFrame) {
	switch f.kind {
	case sentStream:
		if st := c.streams.get(f.id); st != nil {
			st.onDataAcked(f.off, f.n, f.fin)
		}
	case sentCrypto:
		c.spaces[sp].cryptoOut.ack(f.off, f.off+f.n)
	case sentResetStream:
		if st := c.streams.get(f.id); st != nil {
			st.onResetAcked()
		}
	}
}

// onFrameLost queues one lost frame again, or its newest value (RFC 9000,
// Section 13.3).
func (c *Conn) onFrameLost(sp pnSpace, f sentFrame) {
	c.stats.Retransmitted++
	switch f.kind {
	case sentStream:
		if st := c.streams.get(f.id); st != nil {
			st.onDataLost(f.off, f.n, f.fin)
		}
	case sentCrypto:
		c.spaces[sp].cryptoOut.loss(f.off, f.off+f.n)
	case sentResetStream:
		if st := c.streams.get(f.id); st != nil {
			st.onResetLost()
		}
	case sentStopSending:
		if st := c.streams.get(f.id); st != nil {
			st.onStopSendingLost()
		}
	case sentMaxData:
		c.flow.maxDataPending = true
	case sentMaxStreamData:
		if st := c.streams.get(f.id); st != nil {
			st.onMaxStreamDataLost()
		}
	case sentMaxStreams:
		c.streams.onMaxStreamsLost(f.n == 1)
	case sentNewConnID:
		c.cids.onNewLost(f.id)
	case sentRetireConnID:
		c.cids.onRetireLost(f.id)
	case sentHandshakeDone:
		c.ctrl.handshakeDone = true
	default:
		c.stats.Retransmitted--
	}
}
