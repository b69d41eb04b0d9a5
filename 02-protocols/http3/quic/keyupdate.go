package quic

import "time"

// appKeys are the 1-RTT keys with their key phase (RFC 9001, Section 6).
// Either side may update the keys once the handshake is confirmed: it
// flips the Key Phase bit of the short header and derives new packet keys
// from the old secret with "quic ku". The receiver sees the flipped bit,
// derives the same keys, and answers in the new phase.
type appKeys struct {
	seal, open *keys
	nextOpen   *keys // for packets of the next phase, derived ahead
	prevOpen   *keys // for late packets of the previous phase
	prevUntil  time.Time
	phase      bool // the Key Phase bit of the current keys

	firstSent       int64 // first packet number sent in this phase
	firstRecv       int64 // first packet number received in this phase
	ackedInPhase    bool  // a packet of this phase was acknowledged
	sentInPhase     uint64
	updateWanted    bool // the application asked for an update
	peerUpdatedLast bool
}

// aeadPacketLimit is how many packets a phase's keys seal before the
// keys are updated: well below AES-GCM's confidentiality limit of 2^23
// (RFC 9001, Section 6.6).
const aeadPacketLimit = 1 << 22

func (a *appKeys) install(seal, open *keys) error {
	if seal != nil {
		a.seal = seal
		a.firstSent = -1
	}
	if open != nil {
		a.open = open
		a.firstRecv = -1
		n, err := open.next()
		if err != nil {
			return err
		}
		a.nextOpen = n
	}
	return nil
}

// openKeys picks the keys for a received 1-RTT packet by its Key Phase
// bit and packet number. next reports that they are the next phase's
// keys, which on success means the peer updated.
func (a *appKeys) openKeys(phase bool, pn uint64, now time.Time) (k *keys, next bool) {
	if phase == a.phase {
		return a.open, false
	}
	if a.prevOpen != nil && (a.firstRecv < 0 || int64(pn) < a.firstRecv) &&
		now.Before(a.prevUntil) {
		return a.prevOpen, false
	}
	return a.nextOpen, true
}

// rotate moves both directions to the next phase: on a local update, or
// when the peer's packet in the next phase authenticated.
func (a *appKeys) rotate(now time.Time, pto time.Duration) error {
	seal, err := a.seal.next()
	if err != nil {
		return err
	}
	next, err := a.nextOpen.next()
	if err != nil {
		return err
	}
	a.prevOpen = a.open
	a.prevUntil = now.Add(3 * pto)
	a.open = a.nextOpen
	a.nextOpen = next
	a.seal = seal
	a.phase = !a.phase
	a.firstSent = -1
	a.firstRecv = -1
	a.ackedInPhase = false
	a.sentInPhase = 0
	return nil
}

// onSent notes a 1-RTT packet sealed with the current keys.
func (a *appKeys) onSent(pn uint64) {
	if a.firstSent < 0 {
		a.firstSent = int64(pn)
	}
	a.sentInPhase++
}

// onAcked notes an acknowledged application packet.
func (a *appKeys) onAcked(pn uint64) {
	if a.firstSent >= 0 && int64(pn) >= a.firstSent {
		a.ackedInPhase = true
	}
}

// canUpdate reports whether a local key update is allowed: after the
// handshake is confirmed and once a packet of the current phase was
// acknowledged (Section 6.1).
func (a *appKeys) canUpdate(confirmed bool) bool {
	return confirmed && a.seal != nil && a.ackedInPhase
}

// UpdateKeys starts a 1-RTT key update (RFC 9001, Section 6) as soon as
// it is allowed. Endpoints update on their own before the AEAD limits;
// this method exists to exercise the mechanism.
func (c *Conn) UpdateKeys() {
	c.mu.Lock()
	c.app.updateWanted = true
	c.mu.Unlock()
	c.wakeup()
}

// maybeUpdateKeys performs a wanted or due key update, before sealing.
func (c *Conn) maybeUpdateKeys(now time.Time) {
	a := &c.app
	due := a.updateWanted || a.sentInPhase >= aeadPacketLimit
	if !due || !a.canUpdate(c.handshakeConfirmed) {
		return
	}
	if err := a.rotate(now, c.rec.pto(c, spaceApp)); err != nil {
		c.closeLocked(errorf(InternalError, "key update: %v", err), false)
		return
	}
	a.updateWanted = false
	c.stats.KeyUpdates++
}
