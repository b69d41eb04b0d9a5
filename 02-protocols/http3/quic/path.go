package quic

import (
	"crypto/rand"
	"net/netip"
	"time"
)

// path is the peer address a connection sends to, and what it knows of
// it (RFC 9000, Sections 8 and 9).
type path struct {
	addr      netip.AddrPort
	validated bool
	// Until the address is validated, an endpoint sends at most three
	// times what it received from it (Section 8).
	recvBytes, sentBytes uint64

	challenge     [8]byte
	challenging   bool
	sendChallenge bool      // a PATH_CHALLENGE is due
	challengeAt   time.Time // when to send the next one
	challengeEnd  time.Time // when validation fails
	challenges    int
}

// maxChallenges bounds the PATH_CHALLENGE frames sent per validation.
const maxChallenges = 3

// pathResponse is a PATH_RESPONSE to send, to where its challenge came
// from.
type pathResponse struct {
	data [8]byte
	addr netip.AddrPort
}

// amplificationLimit is how many bytes may be sent on an unvalidated
// path: three times what arrived from it.
func (p *path) canSend(n int) bool {
	return p.validated || p.sentBytes+uint64(n) <= 3*p.recvBytes
}

// atAmplificationLimit reports whether the server cannot send even a
// minimal datagram before the peer's address is validated.
func (c *Conn) atAmplificationLimit() bool {
	return c.isServer && !c.path.canSend(MinInitialDatagram) &&
		!c.path.canSend(1)
}

// deadline returns when path validation needs attention.
func (p *path) deadline() time.Time {
	if !p.challenging {
		return time.Time{}
	}
	if p.challengeAt.Before(p.challengeEnd) {
		return p.challengeAt
	}
	return p.challengeEnd
}

// onTimer resends the challenge, or gives up on the path.
func (p *path) onTimer(c *Conn, now time.Time) {
	if !p.challenging {
		return
	}
	if !now.Before(p.challengeEnd) {
		c.pathValidationFailed()
		return
	}
	if !now.Before(p.challengeAt) && p.challenges < maxChallenges {
		p.sendChallenge = true
	}
}

// startValidation begins validating the current path with a fresh
// PATH_CHALLENGE (Section 8.2).
func (c *Conn) startValidation(now time.Time) {
	p := &c.path
	rand.Read(p.challenge[:])
	p.challenging = true
	p.sendChallenge = true
	p.challenges = 0
	pto := c.rec.pto(c, spaceApp)
	p.challengeEnd = now.Add(max(3*pto, 6*initialRTT))
}

// onChallengeSent schedules the next PATH_CHALLENGE, if one is needed.
func (c *Conn) onChallengeSent(now time.Time) {
	p := &c.path
	p.sendChallenge = false
	p.challenges++
	c.stats.PathChallenges++
	p.challengeAt = now.Add(2 * c.rec.pto(c, spaceApp))
}

// onPathResponse completes a validation whose challenge it echoes.
func (c *Conn) onPathResponse(data [8]byte) {
	p := &c.path
	if !p.challenging || data != p.challenge {
		return // a response to an older or foreign challenge
	}
	p.challenging = false
	p.sendChallenge = false
	p.validated = true
	c.prevPath = nil
}

// pathValidationFailed goes back to the previous path if it was valid
// (Section 9.3.2), otherwise closes the connection.
func (c *Conn) pathValidationFailed() {
	if c.prevPath != nil {
		c.path = *c.prevPath
		c.prevPath = nil
		return
	}
	c.path.challenging = false
	c.closeErr = errorf(NoViablePath, "path validation failed")
	c.state = stateClosed
}

// migrate follows a peer whose non-probing packet with the highest
// packet number so far arrived from a new address: a NAT rebinding, or
// the peer moving (Section 9.3). The new path is validated before more
// than three times the received data is sent to it; the congestion
// controller and RTT start afresh unless only the port changed. A peer
// that migrates on purpose switches to a new connection id; this side
// then switches too, so the two paths cannot be linked (Section 9.5). A
// NAT rebinding keeps the id, and so does this side.
func (c *Conn) migrate(addr netip.AddrPort, size int, now time.Time, newID bool) {
	if newID && len(c.cids.peer) > 1 {
		old := c.cids.peer[0]
		c.cids.peer = c.cids.peer[1:]
		c.cids.retire = append(c.cids.retire, old.seq)
		if old.hasToken {
			c.ep.removeResetToken(old.token)
		}
	}
	old := c.path
	if old.validated {
		old.challenging = false
		c.prevPath = &old
	}
	c.path = path{addr: addr, recvBytes: uint64(size)}
	c.stats.Migrations++
	if addr.Addr() != old.addr.Addr() {
		c.rec.rtt = rttStats{}
		c.rec.rtt.init()
		c.rec.cc = newNewReno(c.rec.cc.mds)
	}
	c.startValidation(now)
}

// mtuProbe is a minimal path MTU discovery (RFC 9000, Section 14.3):
// once the handshake is confirmed, one PING padded to the configured
// maximum datagram size is sent; if it is acknowledged, the connection
// uses that size. A lost probe is no sign of congestion.
type mtuProbe struct {
	target int
	state  int // 0 not started, 1 in flight, 2 done
}

func (m *mtuProbe) due(c *Conn) bool {
	return m.state == 0 && c.handshakeConfirmed && m.target > MinInitialDatagram &&
		c.path.validated
}

func (m *mtuProbe) onAcked(c *Conn, size int) {
	m.state = 2
	if size > c.rec.cc.mds {
		c.rec.cc.mds = size
		c.rec.cc.window = max(c.rec.cc.window, initialWindow(size))
	}
}

func (m *mtuProbe) onLost() { m.state = 2 }
