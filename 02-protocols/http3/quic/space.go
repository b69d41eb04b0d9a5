package quic

import "time"

// pnSpace is one of the three packet number spaces (RFC 9000,
// Section 12.3): each has its own packet numbers, acknowledgments and
// loss recovery.
type pnSpace int

const (
	spaceInitial pnSpace = iota
	spaceHandshake
	spaceApp
	numSpaces
)

func (s pnSpace) String() string {
	return [...]string{"Initial", "Handshake", "Application"}[s]
}

// maxAckRangesKept bounds the received-packet ranges a space remembers
// for its ACK frames; older ones are forgotten (and late duplicates of
// them dropped), as RFC 9000 Section 13.2.3 allows.
const maxAckRangesKept = 32

// space is the state of one packet number space.
type space struct {
	// seal and open are the Initial or Handshake keys; the application
	// space uses Conn.app and the 0-RTT keys instead.
	seal, open *keys
	discarded  bool

	nextPN uint64

	// Received packets, for ACK frames and duplicate detection.
	recvd        rangeSet
	ignoreBelow  uint64 // packet numbers below are old: drop them
	largestRecv  int64
	largestTime  time.Time // when largestRecv arrived
	ackEliciting int       // ack-eliciting packets not yet acknowledged
	ackNow       bool      // send an ACK without waiting
	ackDeadline  time.Time // send an ACK by then
	ackUnsent    bool      // something arrived since the last ACK

	// CRYPTO data in both directions.
	cryptoOut sendBuffer
	cryptoIn  recvBuffer

	// Loss recovery: packets sent and not yet acknowledged or lost.
	sent                 []sentPacket
	largestAcked         int64
	lossTime             time.Time
	lastAckElicitingSent time.Time
	ackElicitingInFlight int
	// probes is the number of PTO probe packets still to send.
	probes int
}

func (s *space) init() {
	s.largestRecv = -1
	s.largestAcked = -1
}

// onReceived records packet pn and decides when to acknowledge it
// (RFC 9000, Section 13.2): at once in the handshake spaces, when a
// packet arrives out of order, or every second ack-eliciting packet;
// otherwise within maxAckDelay.
func (s *space) onReceived(id pnSpace, pn uint64, ackEliciting bool,
	now time.Time, maxAckDelay time.Duration) {
	outOfOrder := s.largestRecv >= 0 && (int64(pn) < s.largestRecv ||
		int64(pn) > s.largestRecv+1)
	s.recvd.add(pn, pn+1)
	if len(s.recvd) > maxAckRangesKept {
		s.ignoreBelow = s.recvd[1].start
		s.recvd.removeBelow(s.ignoreBelow)
	}
	if int64(pn) > s.largestRecv {
		s.largestRecv = int64(pn)
		s.largestTime = now
	}
	s.ackUnsent = true
	if !ackEliciting {
		return
	}
	s.ackEliciting++
	switch {
	case id != spaceApp, outOfOrder, s.ackEliciting >= 2:
		s.ackNow = true
	case s.ackEliciting == 1:
		s.ackDeadline = now.Add(maxAckDelay)
	}
}

// isDuplicate reports whether pn was already processed.
func (s *space) isDuplicate(pn uint64) bool {
	return pn < s.ignoreBelow || s.recvd.contains(pn)
}

// wantAck reports whether an ACK should be sent now, on its own if need
// be.
func (s *space) wantAck(now time.Time) bool {
	if s.ackEliciting == 0 {
		return false
	}
	return s.ackNow || !now.Before(s.ackDeadline)
}

// ackRanges lists the received ranges, largest first, into dst.
func (s *space) ackRanges(dst []ackRange) []ackRange {
	dst = dst[:0]
	for i := len(s.recvd) - 1; i >= 0; i-- {
		dst = append(dst, ackRange{s.recvd[i].start, s.recvd[i].end - 1})
	}
	return dst
}

// onAckSent resets the acknowledgment state after an ACK left.
func (s *space) onAckSent() {
	s.ackEliciting = 0
	s.ackNow = false
	s.ackUnsent = false
	s.ackDeadline = time.Time{}
}
